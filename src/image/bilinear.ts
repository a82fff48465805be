// Owns the host reference of torch `F.interpolate(x, scale_factor=s, mode='bilinear', align_corners=False)` on NCHW
// float tensors: the `base` that RestorationNet adds to its output. The network graph computes the same thing in
// ONNX; this version is the reference the tests hold it to.

import { float32Tensor, formatShape, type Float32Tensor } from '../tensor/host-tensor.ts';

interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w1: Float64Array;
}

/** Source index = (dst + 0.5) / scale - 0.5, clamped at 0; neighbours clamp at the last index. */
function taps(inSize: number, outSize: number, scale: number): Taps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const step = 1 / scale;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(step * (d + 0.5) - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = lo < inSize - 1 ? lo + 1 : lo;
    w1[d] = src - lo;
  }
  return { i0, i1, w1 };
}

/** Bilinear upsampling of an NCHW tensor by `scale` (output size floor(in * scale)), align_corners = False. */
export function bilinearUpsample(t: Float32Tensor, scale: number): Float32Tensor {
  if (t.shape.length !== 4) throw new Error(`bilinearUpsample: expected an NCHW tensor, got shape ${formatShape(t.shape)}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`bilinearUpsample: scale ${scale} must be a positive number`);
  const [n, c, h, w] = t.shape as [number, number, number, number];
  const oh = Math.floor(h * scale);
  const ow = Math.floor(w * scale);
  const ty = taps(h, oh, scale);
  const tx = taps(w, ow, scale);
  const out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    const src = t.data.subarray(p * h * w, (p + 1) * h * w);
    const dst = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = ty.i0[y]! * w;
      const r1 = ty.i1[y]! * w;
      const b = ty.w1[y]!;
      const a = 1 - b;
      for (let x = 0; x < ow; x++) {
        const x0 = tx.i0[x]!;
        const x1 = tx.i1[x]!;
        const d = tx.w1[x]!;
        const e = 1 - d;
        out[dst + y * ow + x] = a * (e * src[r0 + x0]! + d * src[r0 + x1]!) + b * (e * src[r1 + x0]! + d * src[r1 + x1]!);
      }
    }
  }
  return float32Tensor([n, c, oh, ow], out);
}
