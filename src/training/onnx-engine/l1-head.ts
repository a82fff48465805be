// Owns the restoration L1 loss head of the ONNX engine (official L1Loss, reduction mean): on the host in float64,
// loss = weight * mean |out - gt| and d loss / d out = weight * sign(out - gt) / numel (0 at 0, as tf.abs's
// gradient).

import type { Float32Tensor } from '../../tensor/host-tensor.ts';

export function l1Head(out: Float32Tensor, gt: Float32Tensor, weight = 1): { l1: number; loss: number; dOut: Float32Tensor } {
  const n = out.data.length;
  if (gt.data.length !== n) throw new Error(`L1 loss: output has ${n} values, ground truth ${gt.data.length}`);
  const grad = new Float32Array(n);
  const g = weight / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = out.data[i]! - gt.data[i]!;
    sum += Math.abs(d);
    grad[i] = d > 0 ? g : d < 0 ? -g : 0;
  }
  const l1 = sum / n;
  return { l1, loss: weight * l1, dOut: { shape: out.shape, data: grad } };
}
