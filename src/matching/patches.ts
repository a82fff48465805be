// Owns the patch matrices of correspondence matching: per-pixel L2 normalisation of a feature map and the
// row-per-patch (im2col) layout of its 3x3 patches, element order [c, i, j] as torch's unfold / conv weights.

import type { Float32Tensor } from '../tensor/host-tensor.ts';

export interface FeatureGrid {
  readonly channels: number;
  readonly h: number;
  readonly w: number;
  /** [c, h, w] */
  readonly data: Float32Array;
}

/** F.normalize over channels at every pixel (x / max(||x||, 1e-12)). */
export function normalizePixels(t: Float32Tensor): FeatureGrid {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const plane = h * w;
  const out = new Float32Array(c * plane);
  const norms = new Float64Array(plane);
  for (let k = 0; k < c; k++) {
    const base = k * plane;
    for (let i = 0; i < plane; i++) norms[i] += t.data[base + i]! * t.data[base + i]!;
  }
  for (let i = 0; i < plane; i++) norms[i] = 1 / Math.max(Math.sqrt(norms[i]!), 1e-12);
  for (let k = 0; k < c; k++) {
    const base = k * plane;
    for (let i = 0; i < plane; i++) out[base + i] = t.data[base + i]! * norms[i]!;
  }
  return { channels: c, h, w, data: out };
}

export function patchCount(g: FeatureGrid): number { return (g.h - 2) * (g.w - 2); }

/**
 * Writes patches [first, first + count) of `g` as rows of `out` (row length channels * 9). With `unitNorm` each row
 * is divided by (its L2 norm + 1e-5), as the reference does for reference patches. Returns the rows' L2 norms.
 */
export function writePatchRows(g: FeatureGrid, first: number, count: number, out: Float32Array, unitNorm: boolean): Float32Array {
  const { channels, h, w, data } = g;
  const pw = w - 2;
  const dim = channels * 9;
  const plane = h * w;
  const norms = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const p = first + r;
    const py = Math.floor(p / pw);
    const px = p % pw;
    const row = r * dim;
    let sq = 0;
    for (let c = 0; c < channels; c++) {
      const src = c * plane + py * w + px;
      const dst = row + c * 9;
      for (let i = 0; i < 3; i++) {
        const s = src + i * w;
        const v0 = data[s]!;
        const v1 = data[s + 1]!;
        const v2 = data[s + 2]!;
        out[dst + i * 3] = v0;
        out[dst + i * 3 + 1] = v1;
        out[dst + i * 3 + 2] = v2;
        sq += v0 * v0 + v1 * v1 + v2 * v2;
      }
    }
    const norm = Math.sqrt(sq);
    norms[r] = norm;
    if (unitNorm) {
      const inv = 1 / (norm + 1e-5);
      for (let k = 0; k < dim; k++) out[row + k]! *= inv;
    }
  }
  void h;
  return norms;
}
