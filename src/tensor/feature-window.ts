// Owns windowing of NCHW feature maps: the region [y0, y0+h) x [x0, x0+w) of a map, zero where it falls outside.
// Used to give each restoration tile its inputs and to align a reference map with the input grid.

import type { Float32Tensor } from './host-tensor.ts';

export function featureWindow(t: Float32Tensor, y0: number, x0: number, h: number, w: number): Float32Tensor {
  const [n, c, H, W] = t.shape as [number, number, number, number];
  if (y0 === 0 && x0 === 0 && h === H && w === W) return t;
  const out = new Float32Array(n * c * h * w);
  const ys = Math.max(0, y0);
  const ye = Math.min(H, y0 + h);
  const xs = Math.max(0, x0);
  const xe = Math.min(W, x0 + w);
  if (ye > ys && xe > xs) {
    for (let k = 0; k < n * c; k++) {
      for (let y = ys; y < ye; y++) {
        const src = (k * H + y) * W;
        out.set(t.data.subarray(src + xs, src + xe), (k * h + (y - y0)) * w + (xs - x0));
      }
    }
  }
  return { shape: [n, c, h, w], data: out };
}
