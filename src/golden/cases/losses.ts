// Owns the golden `losses` case: teacher triplet loss and student distillation loss (with the ground-truth
// correspondences from the sibling `homography` case), L1, the perceptual loss on VGG19 (sibling `vgg` weights),
// and WGAN-GP with the official ImageDiscriminator in train mode. Every scalar and tensor named in case.json is
// checked against its own tolerance; a name without a known check is reported as failing.

import { join, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { GoldenCase } from '../case-files.ts';
import { checkScalar, checkTensor, type CheckResult } from '../tolerance.ts';
import { readSafetensors } from '../../weights/safetensors.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { initTfjs } from '../../training/tfjs-backend.ts';
import { TfjsOps, fromNCHW, inScope } from '../../training/tfjs-ops.ts';
import { ParamStore } from '../../training/param-store.ts';
import { transformedCoordinates } from '../../training/data/homography.ts';
import { contrastiveLoss } from '../../training/losses/contrastive.ts';
import { l1Loss } from '../../training/losses/pixel.ts';
import { perceptualLoss, type VggLayer } from '../../training/losses/perceptual.ts';
import { gradientPenalty, wganLoss } from '../../training/losses/wgan-gp.ts';
import { imageDiscriminator } from '../../models/discriminator.ts';

/** Inputs of the case (stored for us to consume, not to reproduce). */
const INPUTS = new Set(['feat1', 'feat2', 'teacher_feat1', 'teacher_feat2', 'real', 'fake', 'gp_alpha']);

async function weightsAt(path: string): Promise<WeightMap> {
  const f = await readSafetensors(path);
  return new WeightMap(f.tensors, f.metadata);
}

/** transformed_coordinate of the homography case, recomputed in float64 from H_inverse (as the reference uses it). */
async function groundTruthCoords(root: string): Promise<{ data: ArrayLike<number>; width: number }> {
  const h = await GoldenCase.open(join(root, 'homography'));
  const [height, width] = h.entry('transformed_coordinate').shape as [number, number];
  const hinv = (h.json as { H_inverse_float64?: number[][] }).H_inverse_float64;
  const data = hinv ? transformedCoordinates(Float64Array.from(hinv.flat()), width, height) : (await h.f32('transformed_coordinate')).data;
  return { data, width };
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  await initTfjs();
  const root = dirname(c.dir);
  const values = new Map<string, ArrayLike<number>>();
  const host = async (name: string) => fromNCHW(await c.f32(name));

  // Contrastive losses.
  const coords = await groundTruthCoords(root);
  const [feat1, feat2, tFeat1, tFeat2] = await Promise.all(['feat1', 'feat2', 'teacher_feat1', 'teacher_feat2'].map(host));
  inScope(() => {
    const teacher = contrastiveLoss({ feat1: feat1!, feat2: feat2!, coords: [coords] });
    values.set('teacher_loss', teacher.loss.dataSync());
    values.set('teacher_pos_dist', teacher.posDist.dataSync());
    values.set('teacher_neg_dist', teacher.negDist.dataSync());
    const t = teacher.targets[0]!;
    values.set('gt_ids', t.ids);
    // [2, n] (y row, then x row).
    const n = t.ids.length;
    const pos2 = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) { pos2[i] = t.fmapPos2[2 * i]!; pos2[n + i] = t.fmapPos2[2 * i + 1]!; }
    values.set('gt_fmap_pos2', pos2);
    const student = contrastiveLoss({ feat1: feat1!, feat2: feat2!, coords: [coords], teacher: { feat1: tFeat1!, feat2: tFeat2! } });
    values.set('student_loss', student.loss.dataSync());
    values.set('student_distill', student.distill!.dataSync());
    values.set('student_pos_dist', student.posDist.dataSync());
    values.set('student_neg_dist', student.negDist.dataSync());
  });

  // Restoration losses.
  const [real, fake, alpha] = await Promise.all(['real', 'fake', 'gp_alpha'].map(host));
  values.set('l1', inScope(() => l1Loss(fake!, real!).dataSync()));
  const vggPath = join(root, 'vgg', 'vgg_weights.safetensors');
  const perceptualNames = c.scalarNames(/^perceptual_relu\d_\d$/);
  if (perceptualNames.length && existsSync(vggPath)) {
    const vggOps = new TfjsOps(new ParamStore({ source: (await weightsAt(vggPath)).lookup, trainable: false }));
    for (const name of perceptualNames) {
      const layer = name.slice('perceptual_'.length) as VggLayer;
      values.set(name, inScope(() => perceptualLoss(vggOps, fake!, real!, { layers: { [layer]: 1 }, weight: 1e-4 }).dataSync()));
    }
    vggOps.params.dispose();
  }
  const dWeights = await weightsAt(join(c.dir, 'd_weights.safetensors'));
  const [ndf, inChannels] = dWeights.get('conv_block1.0.weight')!.shape as [number, number];
  const dOps = new TfjsOps(new ParamStore({ source: dWeights.lookup }));
  const critic = (x: tf.Tensor) => imageDiscriminator(dOps, x, ndf, inChannels);
  inScope(() => {
    const dReal = critic(real!);
    const dFake = critic(fake!);
    values.set('d_real', dReal.dataSync());
    values.set('d_fake', dFake.dataSync());
    values.set('l_d_real', wganLoss(dReal, true, true).dataSync());
    values.set('l_d_fake', wganLoss(dFake, false, true).dataSync());
    values.set('l_g_gan', wganLoss(dFake, true, false, 1e-6).dataSync());
    const gp = gradientPenalty(critic, real!, fake!, alpha!);
    values.set('gradient_penalty', gp.penalty.dataSync());
    values.set('gp_grad_norm', gp.gradNorm.dataSync());
    values.set('d_interp', gp.dInterp.dataSync());
  });
  dOps.params.dispose();
  for (const t of [feat1, feat2, tFeat1, tFeat2, real, fake, alpha]) t!.dispose();

  const out: CheckResult[] = [];
  for (const t of c.json.tensors) {
    if (INPUTS.has(t.name)) continue;
    const mine = values.get(t.name);
    if (!mine) {
      out.push({ case: c.name, name: t.name, error: Infinity, bound: 0, pass: false, detail: 'no check implemented for this tensor' });
      continue;
    }
    const golden = t.dtype === 'I64' ? await c.ints(t.name) : (await c.f32(t.name)).data;
    out.push(checkTensor(c.name, t.name, mine, golden, t.tolerance));
  }
  for (const name of c.scalarNames(/./)) {
    const s = c.scalar(name);
    const mine = values.get(name);
    out.push(mine ? checkScalar(c.name, name, mine[0]!, s.value, s.tolerance) : { case: c.name, name, error: Infinity, bound: 0, pass: false, detail: 'no check implemented for this scalar' });
  }
  return out;
}
