// Owns the op interface the training-only networks need on top of `Ops` (the discriminator): batch normalisation
// in train mode and global average pooling. Kept apart so the inference interface and its ONNX interpreter stay
// unchanged.

import type { Ops } from '../graph/ops.ts';

export interface TrainOps<T> extends Ops<T> {
  /**
   * BatchNorm2d in train mode: per-channel batch mean and biased variance over N, H, W (the statistics depend on
   * the input, gradients flow through them), then `weight * (x - mean) / sqrt(var + eps) + bias` with the
   * parameters `${name}.weight` and `${name}.bias` [C].
   */
  batchNormTrain(x: T, name: string, channels: number, eps: number): T;
  /** AdaptiveAvgPool2d(1): [N, C, H, W] -> [N, C, 1, 1]. */
  globalAvgPool(x: T): T;
}
