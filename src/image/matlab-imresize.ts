// Owns the MATLAB-style `imresize` of the reference code's data utilities (mmsr `data/util.py` imresize): bicubic
// a = -0.5 with antialiasing (kernel stretched by 1/scale when downscaling), symmetric edge mirroring, rows first,
// then columns, no rounding or clamping. Works on CHW float data. Weights are computed in float32 like the reference
// (torch.linspace tensors); the reference pipelines themselves resize with Pillow (see pil-bicubic.ts).

import { float32Tensor, formatShape, type Float32Tensor } from '../tensor/host-tensor.ts';

const f = Math.fround;
const KERNEL_WIDTH = 4;

function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = f(ax * ax);
  const ax3 = f(ax2 * ax);
  if (ax <= 1) return f(f(f(1.5 * ax3) - f(2.5 * ax2)) + 1);
  if (ax <= 2) return f(f(f(f(-0.5 * ax3) + f(2.5 * ax2)) - f(4 * ax)) + 2);
  return 0;
}

/** Per output pixel: `taps` weights over 0-based source indices `first + k`, already mirrored into [0, inSize). */
interface Weights {
  readonly taps: number;
  readonly weights: Float32Array;
  readonly sources: Int32Array;
}

function weightsAndIndices(inSize: number, outSize: number, scale: number): Weights {
  const antialias = scale < 1;
  const kernelWidth = antialias ? KERNEL_WIDTH / scale : KERNEL_WIDTH;
  const p = Math.ceil(kernelWidth) + 2;
  const w = new Float32Array(outSize * p);
  const idx = new Int32Array(outSize * p);
  for (let o = 0; o < outSize; o++) {
    const u = f(f((o + 1) / scale) + 0.5 * (1 - 1 / scale));
    const left = Math.floor(f(u - kernelWidth / 2));
    let sum = 0;
    for (let k = 0; k < p; k++) {
      const index = left + k;
      const d = f(u - index);
      const v = antialias ? f(scale * cubic(f(d * scale))) : cubic(d);
      w[o * p + k] = v;
      idx[o * p + k] = index;
      sum = f(sum + v);
    }
    for (let k = 0; k < p; k++) w[o * p + k] = f(w[o * p + k]! / sum);
  }
  // The reference drops the first (last) column when any row has a zero weight there.
  let dropFirst = false;
  let dropLast = false;
  for (let o = 0; o < outSize; o++) {
    if (w[o * p] === 0) dropFirst = true;
    if (w[o * p + p - 1] === 0) dropLast = true;
  }
  const start = dropFirst ? 1 : 0;
  const taps = p - start - (dropLast ? 1 : 0);
  const weights = new Float32Array(outSize * taps);
  const sources = new Int32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    for (let k = 0; k < taps; k++) {
      weights[o * taps + k] = w[o * p + start + k]!;
      sources[o * taps + k] = mirror(idx[o * p + start + k]!, inSize);
    }
  }
  return { taps, weights, sources };
}

/** 1-based index i mirrored with the edge pixel repeated (0 -> 1, -1 -> 2, n+1 -> n), returned 0-based. */
function mirror(i: number, n: number): number {
  let j = i;
  if (j < 1) j = 1 - j;
  if (j > n) j = 2 * n + 1 - j;
  return Math.min(Math.max(j, 1), n) - 1;
}

/** Resizes a [C, H, W] float tensor by `scale` (output ceil(H*scale) x ceil(W*scale)). */
export function matlabImresize(t: Float32Tensor, scale: number): Float32Tensor {
  if (t.shape.length !== 3) throw new Error(`matlabImresize: expected a CHW tensor, got shape ${formatShape(t.shape)}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`matlabImresize: scale ${scale} must be a positive number`);
  const [c, h, w] = t.shape as [number, number, number];
  const oh = Math.ceil(h * scale);
  const ow = Math.ceil(w * scale);
  const wh = weightsAndIndices(h, oh, scale);
  const ww = weightsAndIndices(w, ow, scale);
  // Rows first: [C, oh, w].
  const mid = new Float32Array(c * oh * w);
  for (let ch = 0; ch < c; ch++) {
    const src = ch * h * w;
    for (let y = 0; y < oh; y++) {
      const dst = (ch * oh + y) * w;
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let k = 0; k < wh.taps; k++) s += wh.weights[y * wh.taps + k]! * t.data[src + wh.sources[y * wh.taps + k]! * w + x]!;
        mid[dst + x] = s;
      }
    }
  }
  // Then columns: [C, oh, ow].
  const out = new Float32Array(c * oh * ow);
  for (let r = 0; r < c * oh; r++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < ww.taps; k++) s += ww.weights[x * ww.taps + k]! * mid[r * w + ww.sources[x * ww.taps + k]!]!;
      out[r * ow + x] = s;
    }
  }
  return float32Tensor([c, oh, ow], out);
}
