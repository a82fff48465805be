// Owns the perceptual loss of restoration training (official PerceptualLoss with criterion 'fro'): VGG19 features
// of the output and of the ground truth (frozen weights, ImageNet input normalisation), per layer the Frobenius
// norm of the difference over the whole batch tensor (not squared, not averaged), weighted, times the perceptual
// weight (official 1e-4 on relu5_1; refsr has VGG19 up to relu3_1).

import * as tf from '@tensorflow/tfjs-core';
import type { TfjsOps } from '../tfjs-ops.ts';
import { vgg19Features, type TrunkWidths, type VggInputNorm } from '../../models/vgg-features.ts';

export type VggLayer = 'relu1_1' | 'relu2_1' | 'relu3_1';

export interface PerceptualOptions {
  /** Layer weights (official {relu5_1: 1}; here e.g. {relu3_1: 1}). */
  readonly layers: Partial<Record<VggLayer, number>>;
  /** Official perceptual_weight 1e-4. */
  readonly weight?: number;
  /** Key prefix of the VGG weights in the ops' parameter store (e.g. '' or 'vgg.'). */
  readonly prefix?: string;
  readonly norm?: VggInputNorm;
  /** Trunk widths of the VGG weights (VGG19's 64/128/256 by default). */
  readonly widths?: TrunkWidths;
}

/** `vggOps` holds the frozen VGG weights; `real` is treated as a constant target. */
export function perceptualLoss(vggOps: TfjsOps, fake: tf.Tensor, real: tf.Tensor, opts: PerceptualOptions): tf.Scalar {
  const prefix = opts.prefix ?? '';
  const norm = opts.norm ?? 'imagenet';
  const a = vgg19Features(vggOps, prefix, fake, norm, opts.widths);
  const b = vgg19Features(vggOps, prefix, real, norm, opts.widths);
  let total: tf.Tensor = tf.scalar(0);
  for (const [layer, w] of Object.entries(opts.layers) as [VggLayer, number][]) {
    total = tf.add(total, tf.mul(w, tf.norm(tf.sub(a[layer], b[layer]))));
  }
  return tf.mul(opts.weight ?? 1e-4, total) as tf.Scalar;
}
