// Golden `losses`: contrastive (teacher triplet, student distillation), L1, perceptual and WGAN-GP, each against the
// reference values; plus the losses' gradients exist where training needs them.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { GoldenCase } from '../src/golden/case-files.ts';
import { run } from '../src/golden/cases/losses.ts';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { TfjsOps, inScope } from '../src/training/tfjs-ops.ts';
import { ParamStore } from '../src/training/param-store.ts';
import { imageDiscriminator } from '../src/models/discriminator.ts';
import { gradientPenalty, wganLoss } from '../src/training/losses/wgan-gp.ts';
import { goldenDir, goldenSkip } from './support/shared.ts';

describe('golden losses', { skip: goldenSkip }, () => {
  test('every scalar and tensor of the case within tolerance', async (t) => {
    const results = await run(await GoldenCase.open(join(goldenDir, 'losses')));
    for (const r of results) t.diagnostic(`${r.name}: error ${r.error.toExponential(2)} (bound ${r.bound})${r.detail ? ` ${r.detail}` : ''}`);
    for (const name of ['teacher_loss', 'student_loss', 'student_distill', 'gt_ids', 'gt_fmap_pos2', 'l1', 'gradient_penalty', 'd_real']) {
      assert.ok(results.some((r) => r.name === name), `no ${name} check`);
    }
    assert.deepEqual(results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.error} > ${r.bound} ${r.detail ?? ''}`), []);
  });
});

describe('WGAN-GP training step (properties)', () => {
  before(async () => { await initTfjs(); });

  test('critic loss with gradient penalty has finite gradients for every critic parameter', () => {
    const store = new ParamStore({ init: { seed: 4, std: 0.1 } });
    const ops = new TfjsOps(store);
    inScope(() => {
      const real = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1);
      const fake = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 2);
      const alpha = tf.randomUniform([2, 1, 1, 1], 0, 1, 'float32', 3);
      const critic = (x: tf.Tensor) => imageDiscriminator(ops, x, 2);
      critic(real); // create the variables
      const { value, grads } = tf.variableGrads(() => tf.addN([
        wganLoss(critic(real), true, true), wganLoss(critic(fake), false, true), gradientPenalty(critic, real, fake, alpha).penalty,
      ]) as tf.Scalar, [...store.vars.values()]);
      assert.ok(Number.isFinite(value.dataSync()[0]!));
      assert.equal(Object.keys(grads).length, store.vars.size);
      for (const g of Object.values(grads)) assert.ok(g.dataSync().every(Number.isFinite));
    });
    store.dispose();
  });
});
