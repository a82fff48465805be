// Golden `homography` (contrastive training pairs from recorded draws) and properties of the pair synthesis.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GoldenCase } from '../src/golden/case-files.ts';
import { run } from '../src/golden/cases/homography.ts';
import { drawPair, getPerspectiveTransform, invert3x3, pairGeometry, warpPerspective } from '../src/training/data/homography.ts';
import { Rng } from '../src/random/rng.ts';
import { goldenDir, goldenSkip } from './support/shared.ts';

describe('golden homography', { skip: goldenSkip }, () => {
  test('H, H_inverse, warped image, img_ref_up and transformed_coordinate match', async (t) => {
    const results = await run(await GoldenCase.open(join(goldenDir, 'homography')));
    for (const r of results) t.diagnostic(`${r.name}: error ${r.error.toExponential(2)} (bound ${r.bound})${r.detail ? ` ${r.detail}` : ''}`);
    for (const name of ['img_ref', 'img_ref_up', 'transformed_coordinate', 'H', 'H_inverse']) assert.ok(results.some((r) => r.name === name), `no ${name} check`);
    assert.deepEqual(results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.error} > ${r.bound} ${r.detail ?? ''}`), []);
  });
});

describe('pair synthesis (properties)', () => {
  test('seeded draws follow the numpy ranges and sequence shape', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const d = drawPair(rng, 96, 120);
      assert.ok(d.xTopLeft >= 10 && d.xTopLeft < 96);
      assert.ok(d.yTopLeft >= 10 && d.yTopLeft < 120);
      assert.equal(d.moves.length, 8);
      for (const m of d.moves) assert.ok(Number.isInteger(m) && Math.abs(m) <= 9);
    }
  });

  test('getPerspectiveTransform maps the corners and the inverse undoes it', () => {
    const g = pairGeometry(drawPair(new Rng(9), 160, 160));
    for (let i = 0; i < 4; i++) {
      const [x, y] = g.rect1[i]!;
      const H = g.H;
      const z = H[6]! * x + H[7]! * y + H[8]!;
      assert.ok(Math.abs((H[0]! * x + H[1]! * y + H[2]!) / z - g.rect2[i]![0]) < 1e-9);
      assert.ok(Math.abs((H[3]! * x + H[4]! * y + H[5]!) / z - g.rect2[i]![1]) < 1e-9);
    }
    const I = invert3x3(g.H);
    const back = getPerspectiveTransform(g.rect2, g.rect1);
    for (let k = 0; k < 9; k++) assert.ok(Math.abs(I[k]! / I[8]! - back[k]!) < 1e-9);
  });

  test('warp with the identity is the identity; outside samples are 0', () => {
    const src = { width: 5, height: 4, channels: 2, data: Float32Array.from({ length: 40 }, (_, i) => i / 40) };
    const same = warpPerspective(src, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), 5, 4);
    assert.deepEqual([...same.data], [...src.data]);
    const shifted = warpPerspective(src, Float64Array.of(1, 0, 10, 0, 1, 0, 0, 0, 1), 5, 4);
    assert.ok(shifted.data.every((v) => v === 0));
  });
});
