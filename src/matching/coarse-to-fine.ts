// Owns the fast matching mode for large images. Exact matching costs (input patches) x (reference patches); here
// the exact search runs on 2x2-pooled features (16x less work), and each full-resolution input patch then scores,
// with the exact 3x3 cosine correlation, only a few candidates: the 3x3 neighbourhood of the position its coarse
// match predicts, and the best matches of its left and upper neighbours shifted by one (PatchMatch-style
// propagation). Its scores and tie rule are those of the exact mode; it differs only where the true best match is
// outside the candidates.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { normalizePixels, type FeatureGrid } from './patches.ts';
import { matchRows, type MatchOptions } from './correspondence.ts';
import type { MatchIndex } from './pre-offset.ts';

/** Below this many (input x reference) patch pairs, `auto` matching is exact. 125x95 vs an equal reference is ~1.3e8. */
export const EXACT_PAIR_LIMIT = 4e8;
/** Half-size of the candidate window around the coarse prediction (in feature cells). */
export const FAST_RADIUS = 2;

function pool2(g: FeatureGrid): Float32Tensor {
  const h = Math.floor(g.h / 2);
  const w = Math.floor(g.w / 2);
  const out = new Float32Array(g.channels * h * w);
  for (let c = 0; c < g.channels; c++) {
    const src = c * g.h * g.w;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = src + 2 * y * g.w + 2 * x;
      out[(c * h + y) * w + x] = 0.25 * (g.data[i]! + g.data[i + 1]! + g.data[i + g.w]! + g.data[i + g.w + 1]!);
    }
  }
  return { shape: [1, g.channels, h, w], data: out };
}

/** Pixel-major copy [h, w, C] so a pixel's channels are contiguous for dot products. */
function toHwc(g: FeatureGrid): Float32Array {
  const { channels: c, h, w, data } = g;
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = data[k * h * w + p]!;
  return out;
}

function patchDot(a: Float32Array, aw: number, ay: number, ax: number, b: Float32Array, bw: number, by: number, bx: number, c: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) {
    const ra = ((ay + i) * aw + ax) * c;
    const rb = ((by + i) * bw + bx) * c;
    for (let k = 0; k < 3 * c; k++) s += a[ra + k]! * b[rb + k]!;
  }
  return s;
}

function squaredPatchNorms(hwc: Float32Array, h: number, w: number, c: number): Float32Array {
  const pix = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) { let s = 0; for (let k = 0; k < c; k++) s += hwc[p * c + k]! ** 2; pix[p] = s; }
  const out = new Float32Array((h - 2) * (w - 2));
  for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
    let s = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += pix[(y + i) * w + x + j]!;
    out[y * (w - 2) + x] = Math.sqrt(s);
  }
  return out;
}

export async function matchCoarseToFine(inputFeat: Float32Tensor, refFeat: Float32Tensor, opts: MatchOptions = {}): Promise<MatchIndex> {
  const fin = normalizePixels(inputFeat);
  const fref = normalizePixels(refFeat);
  if (fin.h < 6 || fin.w < 6 || fref.h < 6 || fref.w < 6) return matchRows(inputFeat, refFeat, opts);
  const coarse = await matchRows(pool2(fin), pool2(fref), { ...opts, onProgress: (f) => opts.onProgress?.(0.5 * f) });
  const c = fin.channels;
  const a = toHwc(fin);
  const b = toHwc(fref);
  const inNorms = squaredPatchNorms(a, fin.h, fin.w, c);
  const refNorms = squaredPatchNorms(b, fref.h, fref.w, c);
  const ph = fin.h - 2;
  const pw = fin.w - 2;
  const qh = fref.h - 2;
  const qw = fref.w - 2;
  const cpw = coarse.w - 2;
  const cqw = coarse.refW - 2;
  const index = new Int32Array(ph * pw);
  const score = new Float32Array(ph * pw);
  const tried = new Int32Array(qh * qw).fill(-1);
  const bestScore = new Float32Array(ph * pw).fill(-Infinity);
  let stamp = 0;
  // Scores candidate (qy, qx) for input patch p; keeps the best (ties: lower index, as the exact mode).
  const consider = (p: number, y: number, x: number, qy: number, qx: number) => {
    if (qy < 0 || qx < 0 || qy >= qh || qx >= qw) return;
    const q = qy * qw + qx;
    if (tried[q] === stamp) return;
    tried[q] = stamp;
    const s = patchDot(a, fin.w, y, x, b, fref.w, qy, qx, c) / (refNorms[q]! + 1e-5);
    if (s > bestScore[p]! || (s === bestScore[p]! && q < index[p]!)) { bestScore[p] = s; index[p] = q; }
  };
  const radius = FAST_RADIUS;
  for (let y = 0; y < ph; y++) {
    opts.signal?.throwIfAborted();
    for (let x = 0; x < pw; x++) {
      const p = y * pw + x;
      stamp++;
      const cy = Math.min(y >> 1, coarse.h - 3);
      const cx = Math.min(x >> 1, cpw - 1);
      const cq = coarse.index[cy * cpw + cx]!;
      const py = 2 * Math.floor(cq / cqw) + (y - 2 * cy);
      const px = 2 * (cq % cqw) + (x - 2 * cx);
      for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) consider(p, y, x, py + dy, px + dx);
      if (x > 0) { const n = index[p - 1]!; consider(p, y, x, Math.floor(n / qw), (n % qw) + 1); }
      if (y > 0) { const n = index[p - pw]!; consider(p, y, x, Math.floor(n / qw) + 1, n % qw); }
    }
    opts.onProgress?.(0.5 + (0.4 * (y + 1)) / ph);
  }
  // Backward propagation pass: right and lower neighbours' matches shifted by one.
  for (let y = ph - 1; y >= 0; y--) {
    for (let x = pw - 1; x >= 0; x--) {
      const p = y * pw + x;
      stamp++;
      tried[index[p]!] = stamp;
      if (x < pw - 1) { const n = index[p + 1]!; consider(p, y, x, Math.floor(n / qw), (n % qw) - 1); }
      if (y < ph - 1) { const n = index[p + pw]!; consider(p, y, x, Math.floor(n / qw) - 1, n % qw); }
    }
  }
  for (let p = 0; p < ph * pw; p++) score[p] = bestScore[p]! / (inNorms[p]! + 1e-5);
  opts.onProgress?.(1);
  return { h: fin.h, w: fin.w, refH: fref.h, refW: fref.w, index, score };
}
