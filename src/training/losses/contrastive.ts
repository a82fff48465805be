// Owns the losses of the contrastive correspondence network (official TeacherContrasModel / StudentContrasDistillation
// Model .loss_function): the triplet margin loss with the hardest negative (positives at the warped ground-truth
// positions, negatives outside a safe radius, in both directions) and, for the student, the KL distillation of the
// teacher's correlation rows. Features are TfjsOps values ([N, C, h, w] logical, stored channels-last).

import * as tf from '@tensorflow/tfjs-core';
import { correspondenceTargets, type CorrespondenceOptions, type CorrespondenceTargets } from './correspondence-targets.ts';

export interface ContrastiveOptions extends CorrespondenceOptions {
  /** Triplet margin (official 1). */
  readonly margin?: number;
  /** Samples with fewer valid correspondences are skipped (official 128). */
  readonly minCorrespondences?: number;
}

export interface DistillOptions {
  /** Official distill_weight 15. */
  readonly weight?: number;
  /** Official temperature 0.15. */
  readonly temperature?: number;
}

export interface ContrastiveBatch {
  /** Stored [N, h1, w1, C] features of image 1 (student, or teacher when training the teacher). */
  readonly feat1: tf.Tensor;
  readonly feat2: tf.Tensor;
  /** Per batch item: `transformed_coordinate` of image 1, [H, W, 3] float64 row-major with its width W. */
  readonly coords: readonly { readonly data: ArrayLike<number>; readonly width: number }[];
  /** Student training: the teacher's features of the same pair. */
  readonly teacher?: { readonly feat1: tf.Tensor; readonly feat2: tf.Tensor };
}

export interface ContrastiveLoss {
  /** Mean over valid items of triplet (+ weight * KL for the student). */
  readonly loss: tf.Scalar;
  readonly posDist: tf.Scalar;
  readonly negDist: tf.Scalar;
  /** Mean KL over valid items (student only). */
  readonly distill?: tf.Scalar;
  /** Ground truth of each batch item (undefined where the item was skipped). */
  readonly targets: (CorrespondenceTargets | undefined)[];
}

/** F.normalize(dim=1) of rows: x / max(||x||, 1e-12). */
function normalizeRows(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
}

function itemRows(feat: tf.Tensor, b: number): tf.Tensor2D {
  const [, h, w, c] = feat.shape as [number, number, number, number];
  return tf.reshape(tf.slice(feat, [b, 0, 0, 0], [1, h, w, c]), [h * w, c]);
}

/** Descriptors of image 2 at the rounded ground-truth positions, normalised after sampling (as the reference). */
function sampleAt(feat2: tf.Tensor, b: number, t: CorrespondenceTargets): tf.Tensor2D {
  const [, h2, w2] = feat2.shape as [number, number, number, number];
  const flat = new Int32Array(t.ids.length);
  for (let i = 0; i < flat.length; i++) {
    const y = t.fmapPos2[2 * i]!;
    const x = t.fmapPos2[2 * i + 1]!;
    if (y < 0 || y >= h2 || x < 0 || x >= w2) throw new Error(`contrastive loss: ground-truth position (${y}, ${x}) outside the ${h2}x${w2} feature map`);
    flat[i] = y * w2 + x;
  }
  return normalizeRows(tf.gather(itemRows(feat2, b), tf.tensor1d(flat, 'int32'))) as tf.Tensor2D;
}

function hardestNegative(dist: tf.Tensor, outside: Float32Array): tf.Tensor {
  const penalty = tf.mul(tf.sub(1, tf.tensor(outside, dist.shape)), 10);
  return tf.min(tf.add(dist, penalty), 1);
}

export function contrastiveLoss(batch: ContrastiveBatch, opts: ContrastiveOptions = {}, distill: DistillOptions = {}): ContrastiveLoss {
  const [n, h1, w1] = batch.feat1.shape as [number, number, number, number];
  const margin = opts.margin ?? 1;
  const minCorr = opts.minCorrespondences ?? 128;
  const tau = distill.temperature ?? 0.15;
  const distillWeight = distill.weight ?? 15;
  const losses: tf.Tensor[] = [];
  const pos: tf.Tensor[] = [];
  const neg: tf.Tensor[] = [];
  const kls: tf.Tensor[] = [];
  const targets: (CorrespondenceTargets | undefined)[] = [];
  for (let b = 0; b < n; b++) {
    const coords = batch.coords[b]!;
    const t = correspondenceTargets(coords.data, coords.width, h1, w1, opts);
    if (t.ids.length < minCorr) { targets.push(undefined); continue; }
    targets.push(t);
    const ids = tf.tensor1d(t.ids, 'int32');
    const all1 = normalizeRows(itemRows(batch.feat1, b));
    const d1 = tf.gather(all1, ids);
    const d2 = sampleAt(batch.feat2, b, t);
    const positive = tf.sub(2, tf.mul(2, tf.sum(tf.mul(d1, d2), 1)));
    const neg2 = hardestNegative(tf.sub(2, tf.mul(2, tf.matMul(d1, d2, false, true))), t.outsideRadius2);
    const neg1 = hardestNegative(tf.sub(2, tf.mul(2, tf.matMul(d2, all1, false, true))), t.outsideRadius1);
    const hardest = tf.minimum(neg1, neg2);
    let loss = tf.mean(tf.relu(tf.add(margin, tf.sub(positive, hardest))));
    if (batch.teacher) {
      const student = tf.logSoftmax(tf.div(tf.matMul(d1, d2, false, true), tau), 1);
      const t1 = tf.gather(normalizeRows(itemRows(batch.teacher.feat1, b)), ids);
      const t2 = sampleAt(batch.teacher.feat2, b, t);
      const teacherLog = tf.logSoftmax(tf.div(tf.matMul(t1, t2, false, true), tau), 1);
      // F.kl_div(student, softmax(teacher), 'batchmean') = sum T (log T - S) / rows.
      const kl = tf.div(tf.sum(tf.sum(tf.mul(tf.exp(teacherLog), tf.sub(teacherLog, student)), 1)), t.ids.length);
      kls.push(kl);
      loss = tf.add(loss, tf.mul(distillWeight, kl));
    }
    losses.push(loss);
    pos.push(tf.mean(positive));
    neg.push(tf.mean(hardest));
  }
  if (losses.length === 0) throw new Error(`contrastive loss: no batch item has ${minCorr} or more ground-truth correspondences`);
  const avg = (xs: tf.Tensor[]) => tf.div(tf.addN(xs), xs.length) as tf.Scalar;
  return { loss: avg(losses), posDist: avg(pos), negDist: avg(neg), distill: kls.length ? avg(kls) : undefined, targets };
}
