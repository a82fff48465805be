// Owns the pixel reconstruction loss of restoration training (official L1Loss, reduction mean, weight 1).

import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean over all elements as nested means, one axis at a time from the last: the same value in exact arithmetic,
 * but each float32 accumulation is short (a long single sum drifts by ~1e-6 relative on image-sized tensors).
 */
export function nestedMean(x: tf.Tensor): tf.Scalar {
  let m = x;
  for (let axis = x.rank - 1; axis >= 0; axis--) m = tf.mean(m, axis);
  return m as tf.Scalar;
}

export function l1Loss(pred: tf.Tensor, target: tf.Tensor, weight = 1): tf.Scalar {
  return tf.mul(weight, nestedMean(tf.abs(tf.sub(pred, target)))) as tf.Scalar;
}
