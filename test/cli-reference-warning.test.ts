// The warning when a reference looks unrelated to the input (issue 14, item 6), with the bundled default model and
// its measured threshold (the bundle's `refsr.unrelated_score`, README "Reference check"): a crop of the example photo
// with its own reference gives no warning; with a synthetic, unrelated picture as the reference the CLI warns,
// naming the input and the reference, and the JSON summary carries the score.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { refsr } from './support/cli.ts';
import { repoRoot } from './support/shared.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { tempDir } from './support/temp.ts';
import { UNRELATED_REFERENCE_SCORE } from '../src/matching/reference-score.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';

const dir = tempDir('refsr-refwarn-');
const lr = join(dir, 'coffee-crop.png');
const unrelated = join(dir, 'unrelated.png');
const own = join(repoRoot, 'examples', 'coffee-ref.png');

let threshold = UNRELATED_REFERENCE_SCORE;

before(async () => {
  const model = await RefSRModel.load(join(repoRoot, 'models', 'default.safetensors'));
  threshold = model.info.unrelatedScore ?? UNRELATED_REFERENCE_SCORE;
  await model.release();
  await sharp(join(repoRoot, 'examples', 'coffee-lr.png')).extract({ left: 20, top: 16, width: 48, height: 40 }).toFile(lr);
  await save(unrelated, scene(200, 160, 3));
});

test('no warning with the right reference; a warning naming both files with an unrelated one', () => {
  const good = refsr(['upscale', lr, '--ref', own, '-o', join(dir, 'good.png'), '--json', '-q']);
  assert.equal(good.code, 0, good.stderr);
  assert.doesNotMatch(good.stderr, /warning/);
  const g = JSON.parse(good.stdout) as { referenceScores: number[]; warnings: string[] };
  assert.ok(g.referenceScores[0]! >= threshold, `own reference score ${g.referenceScores[0]}`);
  assert.deepEqual(g.warnings, []);

  const bad = refsr(['upscale', lr, '--ref', unrelated, '-o', join(dir, 'bad.png'), '--json', '-q']);
  assert.equal(bad.code, 0, bad.stderr);
  assert.match(bad.stderr, new RegExp(`^warning: .*coffee-crop\\.png: the reference .*unrelated\\.png looks unrelated to the input \\(match score 0\\.\\d\\d, below ${threshold.toFixed(2).replace('.', '\\.')}\\): little or no texture was transferred`, 'm'));
  const b = JSON.parse(bad.stdout) as { referenceScores: number[]; warnings: string[] };
  assert.ok(b.referenceScores[0]! < threshold);
  assert.equal(b.warnings.length, 1);
});
