// The reference path end to end with a model whose output depends on it for the better: the bundled model on the 32
// held-out synthetic pairs of configs/cpu-restoration-degraded.yaml (the README's synthetic-pair column; the same
// computation as bench/reference-gain.ts, sharp view). Each sample's own reference must beat the next sample's (an
// irrelevant one) by a stated margin, and both gains over bicubic stay at the README's figures. A reference path that
// drops the reference, misplaces the flow or aggregates the wrong features brings own and shuffled together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, repoRoot, prerequisite } from './support/shared.ts';
import { readTrainConfig } from '../src/training/config.ts';
import { restorationImages, validationSamples } from '../src/training/stages/restoration-stage.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { superResolve } from '../src/pipeline/super-resolve.ts';
import { fromNCHW } from '../src/image/layout.ts';
import { psnrY } from '../src/metrics/index.ts';

const skip = prerequisite(existsSync(join(dataDir, 'train')), `../shared/data/train not found in ${dataDir}; the bundled model's reference-gain test skipped`);

test('bundled model v1: its own reference beats a shuffled one on the held-out synthetic pairs (README figures)', { skip }, async () => {
  const cfg = await readTrainConfig(join(repoRoot, 'configs', 'cpu-restoration-degraded.yaml'));
  const { val } = await restorationImages(cfg);
  const samples = validationSamples(cfg, val, 32);
  assert.equal(samples.length, 32);
  const model = await RefSRModel.load(join(repoRoot, 'models', 'v1.safetensors'), { threads: 2 });
  let own = 0;
  let shuffled = 0;
  let better = 0;
  try {
    for (const [i, s] of samples.entries()) {
      const bicubic = psnrY(s.up, s.gt, 4);
      const o = psnrY(fromNCHW((await superResolve(model, s.lr, s.up, s.ref, { matching: 'exact' })).sr), s.gt, 4) - bicubic;
      const other = samples[(i + 1) % samples.length]!.ref;
      const x = psnrY(fromNCHW((await superResolve(model, s.lr, s.up, other, { matching: 'exact' })).sr), s.gt, 4) - bicubic;
      own += o / samples.length;
      shuffled += x / samples.length;
      if (o > x) better++;
    }
  } finally {
    await model.release();
  }
  // Measured (README, Bundled model experiment table): own +1.135 dB, shuffled +0.948 dB over bicubic.
  assert.ok(own - shuffled >= 0.15, `own reference +${own.toFixed(3)} dB vs shuffled +${shuffled.toFixed(3)} dB: margin ${(own - shuffled).toFixed(3)} < 0.15 dB`);
  assert.ok(Math.abs(own - 1.135) <= 0.01, `own-reference gain ${own.toFixed(4)} dB; the README says +1.135`);
  assert.ok(Math.abs(shuffled - 0.948) <= 0.01, `shuffled-reference gain ${shuffled.toFixed(4)} dB; the README says +0.948`);
  assert.ok(better >= 20, `own reference better on only ${better} of 32 pairs`);
});
