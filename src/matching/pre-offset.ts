// Owns the decoding of matched reference patch indices into flow and the per-scale pre-offsets the dynamic
// aggregation adds to its learned offsets (official CorrespondenceGenerationArch: index -> flow -> repeat/scale ->
// 9 shifted copies, `tensor_shift`).

import type { Float32Tensor } from '../tensor/host-tensor.ts';

/** Matched indices on the input's (h-2) x (w-2) patch grid, decoded with the reference's own patch-grid width. */
export interface MatchIndex {
  /** Input feature grid (1/4 of the input image). */
  readonly h: number;
  readonly w: number;
  /** Reference feature grid; indices are row-major over its (refH-2) x (refW-2) patch positions. */
  readonly refH: number;
  readonly refW: number;
  /** (h-2) * (w-2) indices. */
  readonly index: Int32Array;
  /** Best correlation per position (divided by the input patch norm + 1e-5, as the reference reports it). */
  readonly score?: Float32Array;
  /** Best minus second-best score (same normalisation as `score`), when requested. */
  readonly margin?: Float32Array;
}

/** Flow [h, w, 2] (x, y) in feature cells, zero in the last 2 rows and columns (official zero padding). */
export function flowFromIndex(m: MatchIndex): Float32Tensor {
  const { h, w, refW } = m;
  const pw = w - 2;
  const rpw = refW - 2;
  const flow = new Float32Array(h * w * 2);
  for (let y = 0; y < h - 2; y++) {
    for (let x = 0; x < pw; x++) {
      const p = m.index[y * pw + x]!;
      const o = (y * w + x) * 2;
      flow[o] = (p % rpw) - x;
      flow[o + 1] = Math.floor(p / rpw) - y;
    }
  }
  return { shape: [1, h, w, 2], data: flow };
}

/** Official layout [1, 9, h*s, w*s, 2] (x, y): slot k = 3i + j is the s-scaled flow shifted down i*s and right j*s. */
export function preOffsetOfficial(flow: Float32Tensor, scale: number): Float32Tensor {
  const [, h, w] = flow.shape as [number, number, number];
  const H = h * scale;
  const W = w * scale;
  const out = new Float32Array(9 * H * W * 2);
  for (let k = 0; k < 9; k++) {
    const dy = Math.floor(k / 3) * scale;
    const dx = (k % 3) * scale;
    for (let y = dy; y < H; y++) {
      const sy = Math.floor((y - dy) / scale);
      for (let x = dx; x < W; x++) {
        const src = (sy * w + Math.floor((x - dx) / scale)) * 2;
        const dst = ((k * H + y) * W + x) * 2;
        out[dst] = flow.data[src]! * scale;
        out[dst + 1] = flow.data[src + 1]! * scale;
      }
    }
  }
  return { shape: [1, 9, H, W, 2], data: out };
}

/** Official [1, 9, H, W, 2] (x, y) -> DCN channel layout [1, 18, H, W] with channel 2t = dy and 2t+1 = dx. */
export function toDcnLayout(pre: Float32Tensor): Float32Tensor {
  const [, , H, W] = pre.shape as [number, number, number, number];
  const plane = H * W;
  const out = new Float32Array(18 * plane);
  for (let t = 0; t < 9; t++) {
    for (let i = 0; i < plane; i++) {
      const src = (t * plane + i) * 2;
      out[(2 * t) * plane + i] = pre.data[src + 1]!;
      out[(2 * t + 1) * plane + i] = pre.data[src]!;
    }
  }
  return { shape: [1, 18, H, W], data: out };
}

/**
 * DCN-layout pre-offsets for a window of the output grid at this scale: rows [y0, y0+H), columns [x0, x0+W) of the
 * full pre-offset map, re-expressed relative to the window origin (a tile samples the reference at
 * window-local position + offset, so the offset grows by the window origin). Positions outside the map are 0
 * + origin, exactly as zero pre-offsets would be in the full map.
 */
export function dcnPreOffsetWindow(flow: Float32Tensor, scale: number, y0: number, x0: number, H: number, W: number): Float32Tensor {
  const [, h, w] = flow.shape as [number, number, number];
  const fullH = h * scale;
  const fullW = w * scale;
  const plane = H * W;
  const out = new Float32Array(18 * plane);
  for (let k = 0; k < 9; k++) {
    const sy0 = Math.floor(k / 3) * scale;
    const sx0 = (k % 3) * scale;
    const oy = out.subarray(2 * k * plane, (2 * k + 1) * plane);
    const ox = out.subarray((2 * k + 1) * plane, (2 * k + 2) * plane);
    for (let ly = 0; ly < H; ly++) {
      const y = y0 + ly;
      for (let lx = 0; lx < W; lx++) {
        const x = x0 + lx;
        let fx = 0;
        let fy = 0;
        if (y >= sy0 && y < fullH && x >= sx0 && x < fullW) {
          const src = (Math.floor((y - sy0) / scale) * w + Math.floor((x - sx0) / scale)) * 2;
          fx = flow.data[src]! * scale;
          fy = flow.data[src + 1]! * scale;
        }
        oy[ly * W + lx] = fy + y0;
        ox[ly * W + lx] = fx + x0;
      }
    }
  }
  return { shape: [1, 18, H, W], data: out };
}
