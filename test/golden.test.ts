// Every golden case in ../shared/golden through the same runner as `npm run golden`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { goldenDir, goldenSkip } from './support/shared.ts';
import { runGoldenCase, casePassed } from '../src/golden/run-golden.ts';

const cases = goldenSkip ? [] : readdirSync(goldenDir).filter((d) => existsSync(join(goldenDir, d, 'case.json'))).sort();

test('golden cases are present', { skip: goldenSkip }, () => {
  assert.ok(cases.length >= 8, `expected the golden cases, found ${cases.join(', ')}`);
});

for (const name of cases) {
  test(`golden ${name}`, async () => {
    const r = await runGoldenCase(join(goldenDir, name));
    const failures = r.checks.filter((c) => !c.pass).map((c) => `${c.name}: error ${c.error} > ${c.bound} ${c.detail ?? ''}`);
    assert.ok(casePassed(r), `golden ${name} failed:\n${r.error ?? ''}\n${failures.join('\n')}`);
  });
}

// The golden pipeline beyond one matching block and one restoration tile. Its pair is 200x160 (LR 50x40): with the
// defaults, matching is one row block and restoration one tile, so the checks above never cross a border.
const pipelineDir = join(goldenDir, 'pipeline');
const pipelineSkip = goldenSkip || (existsSync(join(pipelineDir, 'case.json')) ? false : `no golden pipeline case in ${goldenDir}`);

async function pipelineChecks(opts: Parameters<typeof import('../src/golden/cases/pipeline.ts').runPipeline>[1]) {
  const { GoldenCase } = await import('../src/golden/case-files.ts');
  const { runPipeline } = await import('../src/golden/cases/pipeline.ts');
  return runPipeline(await GoldenCase.open(pipelineDir), opts);
}

test('golden pipeline with matching forced into many small row blocks meets its tolerance', { skip: pipelineSkip }, async () => {
  // 48 x 48 patch columns: a budget of 36 * 48 * 48 floats gives blocks of 4 x 4 patch rows, 100 blocks (the last
  // of each axis overlapping); a budget of 1 gives 1 x 1 row blocks, 38 x 38 = 1444 blocks.
  for (const matchBlockFloats of [36 * 48 * 48, 1]) {
    const checks = await pipelineChecks({ matchBlockFloats });
    const failed = checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.error} > ${c.bound} ${c.detail ?? ''}`);
    assert.ok(checks.length >= 3 && failed.length === 0, `block budget ${matchBlockFloats}:\n${failed.join('\n')}`);
  }
});

// Not met today, so recorded as a todo with the measured figures instead of a tolerance loose enough to pass: the
// official network's receptive field (16 content and 16 texture residual blocks at LR size, about 65 LR px) is far
// wider than any tile overlap, so a tiled result differs from the whole-image one. Measured: tile 24 / overlap 8:
// 36.8% of values differ, by up to 18 levels; tile 24 / 12: 56%, 13 levels; tile 44 / 38: 7.4%, 2 levels. The
// default tile (96 LR px) covers this pair whole; images above 96 LR px get tiles and are affected the same way.
test('golden pipeline with 24 LR px restoration tiles meets its tolerance', { skip: pipelineSkip, todo: 'tiles change the full network\'s output beyond the u8 tolerance (receptive field > overlap)' }, async () => {
  const checks = await pipelineChecks({ tile: 24, overlap: 8, matchBlockFloats: 36 * 48 * 48 });
  const failed = checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.error} > ${c.bound} ${c.detail ?? ''}`);
  assert.deepEqual(failed, []);
});
