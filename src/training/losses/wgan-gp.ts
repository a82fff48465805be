// Owns the adversarial losses of restoration training (official GANLoss('wgan') and gradient_penalty_loss): the
// WGAN critic terms and the gradient penalty 10 * mean((||dD(interp)/d interp||_2 - 1)^2) on interpolates
// alpha * real + (1 - alpha) * fake. The penalty is differentiable w.r.t. the critic's parameters (second-order
// gradients through the critic, including its train-mode BatchNorm).

import * as tf from '@tensorflow/tfjs-core';

/** GANLoss(wgan): -mean(d) for a real target, mean(d) for a fake one; `weight` applies to the generator only. */
export function wganLoss(d: tf.Tensor, targetIsReal: boolean, isDiscriminator: boolean, weight = 1): tf.Scalar {
  const loss = targetIsReal ? tf.neg(tf.mean(d)) : tf.mean(d);
  return (isDiscriminator ? loss : tf.mul(loss, weight)) as tf.Scalar;
}

export interface GradientPenalty {
  /** weight * mean((||g|| - 1)^2). */
  readonly penalty: tf.Scalar;
  /** Per-sample ||g||. */
  readonly gradNorm: tf.Tensor1D;
  /** D(interp). */
  readonly dInterp: tf.Tensor;
}

/**
 * @param critic D, called once on the interpolates (train mode: its BatchNorm sees this batch)
 * @param alpha  [N, 1, 1, 1] interpolation weights (official torch.rand)
 */
export function gradientPenalty(critic: (x: tf.Tensor) => tf.Tensor, real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor, weight = 10): GradientPenalty {
  const interp = tf.add(tf.mul(alpha, real), tf.mul(tf.sub(1, alpha), fake));
  let dInterp: tf.Tensor | undefined;
  const g = tf.grad((x: tf.Tensor) => {
    dInterp = tf.keep(critic(x));
    return tf.sum(dInterp) as tf.Scalar;
  })(interp);
  const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
  const gradNorm = tf.sqrt(tf.sum(tf.square(g), axes)) as tf.Tensor1D;
  const penalty = tf.mul(weight, tf.mean(tf.square(tf.sub(gradNorm, 1)))) as tf.Scalar;
  // D(interp) had to be kept to leave grad's scope; hand back a scope-tracked copy instead.
  const tracked = tf.clone(dInterp!);
  dInterp!.dispose();
  return { penalty, gradNorm, dInterp: tracked };
}
