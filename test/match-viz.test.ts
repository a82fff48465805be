// `refsr match --viz`: line selection (confident, textured, spread), the flow and confidence maps, the rendered
// picture for pairs of any size, the command (atomic PNG, JSON summary, clear errors), and on shared data that VGG
// matching of an image against itself draws lines between the same places.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { MatchIndex } from '../src/matching/pre-offset.ts';
import { confidencePicture, flowPicture, renderMatchPicture, selectLines, correspondenceAt } from '../src/viz/correspondence.ts';
import { flowColor, viridis } from '../src/viz/colors.ts';
import { FeatureExtractor } from '../src/eval/features.ts';
import { matchPair, MatchInputError } from '../src/eval/match-pair.ts';
import { writeImage } from '../src/image/encode.ts';
import { readImageFile } from '../src/image/decode.ts';
import { dataDir, dataSkip } from './support/shared.ts';
import { refsr } from './support/cli.ts';
import { tinyWeights, writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { scene } from './support/eval-fixtures.ts';

function fakeMatch(h: number, w: number, refH: number, refW: number): MatchIndex {
  const n = (h - 2) * (w - 2);
  const index = new Int32Array(n);
  const score = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    index[k] = (k * 7) % ((refH - 2) * (refW - 2));
    score[k] = ((k * 37) % 101) / 100;
  }
  return { h, w, refH, refW, index, score };
}

test('line selection: n lines, confident, spread over the image; geometry of patch centres', () => {
  const m = fakeMatch(30, 40, 20, 25);
  const lines = selectLines(m, 40);
  assert.equal(lines.length, 40);
  const xs = lines.map((l) => l.inX);
  const ys = lines.map((l) => l.inY);
  assert.ok(Math.max(...xs) - Math.min(...xs) > 0.6 * 4 * 40 && Math.max(...ys) - Math.min(...ys) > 0.6 * 4 * 30, 'spread');
  const meanAll = m.score!.reduce((a, b) => a + b, 0) / m.score!.length;
  assert.ok(lines.reduce((a, l) => a + l.score, 0) / lines.length > meanAll + 0.2, 'more confident than average');
  // Position 0 is the patch centred on cell (1, 1) = pixel 5.5; its match index 0 is reference cell (1, 1).
  assert.deepEqual(correspondenceAt(m, 0), { inX: 5.5, inY: 5.5, refX: 5.5, refY: 5.5, score: 0 });
  const k = 3 * 38 + 5;
  const c = correspondenceAt(m, k);
  const p = m.index[k]!;
  assert.deepEqual([c.inX, c.inY, c.refX, c.refY], [4 * 6 + 1.5, 4 * 4 + 1.5, 4 * ((p % 23) + 1) + 1.5, 4 * (Math.floor(p / 23) + 1) + 1.5]);
  assert.equal(selectLines(fakeMatch(3, 3, 3, 3), 40).length, 1);
});

test('flow and confidence maps: one cell per feature cell, grey border, colour scales', () => {
  const m = fakeMatch(12, 10, 8, 9);
  const f = flowPicture(m);
  const c = confidencePicture(m);
  for (const img of [f.image, c.image]) {
    assert.deepEqual([img.width, img.height], [10, 12]);
    assert.deepEqual([...img.data.subarray(0, 3)], [160, 160, 160]);
  }
  assert.deepEqual(flowColor(0, 0, 1), [255, 255, 255]);
  assert.notDeepEqual(flowColor(1, 0, 1), flowColor(-1, 0, 1));
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.ok(c.hi > c.lo);
});

test('picture for a pair with a reference of another size (tiny model features)', async () => {
  const fx = new FeatureExtractor(tinyWeights(), 'imagenet', 2);
  try {
    const r = await matchPair(fx, scene(14, 12, 1), scene(70, 40, 2));
    assert.deepEqual([r.up.width, r.up.height, r.ref.width, r.ref.height], [56, 48, 68, 40]);
    assert.deepEqual([r.match.w, r.match.h, r.match.refW, r.match.refH], [14, 12, 17, 10]);
    const pic = await renderMatchPicture({ up: r.up, ref: r.ref, match: r.match, lines: 12, title: 'tiny' });
    const meta = await sharp(pic.png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', pic.width, pic.height]);
    assert.equal(pic.lines.length, 12);
    await assert.rejects(matchPair(fx, scene(2, 8, 1), scene(40, 40, 2)), (e: Error) => e instanceof MatchInputError && /at least 3x3/.test(e.message));
    await assert.rejects(matchPair(fx, scene(8, 8, 1), scene(10, 40, 2)), MatchInputError);
  } finally {
    await fx.release();
  }
});

test('cli: refsr match writes the picture atomically and a JSON summary; clear errors', async () => {
  const dir = tempDir('refsr-match-');
  await writeImage(join(dir, 'lr.png'), scene(16, 12, 3));
  await writeImage(join(dir, 'ref.jpg'), scene(90, 60, 4));
  const model = await writeTinyModelFile();
  const cli = (args: string[]) => { const r = refsr(['match', ...args]); return { ...r, status: r.code }; };
  const r = cli([join(dir, 'lr.png'), join(dir, 'ref.jpg'), '--viz', join(dir, 'm.png'), '--model', model, '--json', '--lines', '10']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.grid, { input: [16, 12], reference: [22, 15] });
  assert.equal(s.lines, 10);
  assert.equal((await sharp(join(dir, 'm.png')).metadata()).format, 'png');
  const bad = cli([join(dir, 'lr.png'), join(dir, 'ref.jpg'), '--viz', join(dir, 'm.jpg'), '--model', model]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /m\.jpg: the correspondence picture is written as PNG/);
  const small = cli([join(dir, 'lr.png'), join(dir, 'lr.png'), '--viz', join(dir, 's.png'), '--model', model]);
  assert.equal(small.status, 1);
  assert.match(small.stderr, /reference .* must be at least 16x16/);
  assert.doesNotMatch(small.stderr, /at .*\.ts:\d+/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f === 's.png' || f === 'm.jpg'), []);
});

test('VGG19 matching of an image against itself draws lines between the same places (shared data)', { skip: dataSkip }, async () => {
  const fx = await FeatureExtractor.vggFromFile(join(dataDir, 'vgg19-conv3_1', 'vgg19_relu3_1_oihw.json'), { threads: 2 });
  try {
    const img = await readImageFile(join(dataDir, 'set5', 'bird.png'));
    const r = await matchPair(fx, img, img, { features: 'vgg', fromHr: true });
    const lines = selectLines(r.match, 40);
    const exact = lines.filter((l) => Math.hypot(l.inX - l.refX, l.inY - l.refY) <= 4).length;
    assert.ok(exact >= 0.8 * lines.length, `${exact}/${lines.length} lines join the same place`);
    const pic = await renderMatchPicture({ up: r.up, ref: r.ref, match: r.match });
    assert.equal((await sharp(pic.png).metadata()).width, pic.width);
  } finally {
    await fx.release();
  }
});
