// The robustness study: the transformed reference and its ground-truth map agree (ref(T(p)) = img(p)), the AEE
// arithmetic is right on oracle matches, the study runs seeded on 2-3 tiny images with the tiny model and a VGG
// baseline, real VGG19 relu3_1 matching recovers the known correspondence (shared data), and the command writes its
// table, JSON and PNG chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeImage } from '../src/image/encode.ts';
import { join } from 'node:path';
import sharp from 'sharp';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';
import { rotationTransform, scaleTransform, identityTransform } from '../src/robustness/transforms.ts';
import { endPointErrors, runRobustness, GROUPS } from '../src/robustness/study.ts';
import { formatTable, jsonTable, robustnessChart } from '../src/robustness/report.ts';
import { FeatureExtractor } from '../src/eval/features.ts';
import { readImageFile } from '../src/image/decode.ts';
import type { MatchIndex } from '../src/matching/pre-offset.ts';
import { dataDir, dataSkip } from './support/shared.ts';
import { refsr } from './support/cli.ts';
import { tinyModel, writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { makeImageSet, scene } from './support/eval-fixtures.ts';

function smooth(w: number, h: number): RgbImage {
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    img.data[(y * w + x) * 3] = Math.round(128 + 100 * Math.sin(x / 9) * Math.cos(y / 11));
    img.data[(y * w + x) * 3 + 1] = Math.round(128 + 100 * Math.cos((x + y) / 13));
    img.data[(y * w + x) * 3 + 2] = Math.round(128 + 60 * Math.sin((x - 2 * y) / 15));
  }
  return img;
}

function bilinear(img: RgbImage, x: number, y: number, c: number): number {
  const x0 = Math.max(0, Math.min(img.width - 2, Math.floor(x)));
  const y0 = Math.max(0, Math.min(img.height - 2, Math.floor(y)));
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 3 + c]!;
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

test('transformed reference and ground-truth map agree: ref(T(p)) = img(p)', () => {
  const img = smooth(96, 80);
  for (const t of [identityTransform(img), scaleTransform(img, 0.83), scaleTransform(img, 0.45), rotationTransform(img, 12), rotationTransform(img, -67), rotationTransform(img, 90)]) {
    let err = 0;
    let n = 0;
    for (let y = 4; y < img.height - 4; y += 3) for (let x = 4; x < img.width - 4; x += 3) {
      const [rx, ry] = t.map(x, y);
      if (rx < 1 || ry < 1 || rx > t.image.width - 2 || ry > t.image.height - 2) continue;
      for (let c = 0; c < 3; c++) err += Math.abs(bilinear(t.image, rx, ry, c) - img.data[(y * img.width + x) * 3 + c]!);
      n += 3;
    }
    assert.ok(n > 300, `${t.kind} ${t.param}: ${n} samples inside`);
    assert.ok(err / n < 2.5, `${t.kind} ${t.param}: mean |ref(T(p)) - img(p)| = ${(err / n).toFixed(2)}`);
  }
  // A rotation keeps the whole image: canvas grown to hold it, sides multiples of 4, black outside.
  const r = rotationTransform(img, 45);
  assert.equal(r.image.width % 4, 0);
  assert.ok(r.image.width >= (96 + 80) / Math.SQRT2 && r.image.height >= (96 + 80) / Math.SQRT2);
  assert.deepEqual([...r.image.data.subarray(0, 3)], [0, 0, 0]);
});

function oracle(h: number, w: number, refH: number, refW: number, map: (x: number, y: number) => [number, number], shift = 0): MatchIndex {
  const index = new Int32Array((h - 2) * (w - 2));
  for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
    const [tx, ty] = map(4 * (x + 1) + 1.5, 4 * (y + 1) + 1.5);
    const cx = Math.max(1, Math.min(refW - 2, Math.round((tx - 1.5) / 4) + shift));
    const cy = Math.max(1, Math.min(refH - 2, Math.round((ty - 1.5) / 4)));
    index[y * (w - 2) + x] = (cy - 1) * (refW - 2) + (cx - 1);
  }
  return { h, w, refH, refW, index };
}

test('AEE: zero for the identity, rounding only for an oracle under scaling, the shift when shifted', () => {
  const id = (x: number, y: number): [number, number] => [x, y];
  const e0 = endPointErrors(oracle(10, 12, 10, 12, id), id);
  assert.deepEqual(e0, { sum: 0, count: 80, within1: 80 });
  const shifted = endPointErrors(oracle(10, 12, 10, 12, id, 2), id);
  assert.ok(Math.abs(shifted.sum / shifted.count - 1.75) < 0.3, `shift of 2 cells (clamped at the border): ${shifted.sum / shifted.count}`);
  const s = scaleTransform(smooth(48, 40), 0.5);
  const es = endPointErrors(oracle(10, 12, 5, 6, s.map), s.map);
  assert.ok(es.count > 0 && es.count < 80, 'positions whose true match leaves the reference patch grid are excluded');
  assert.ok(es.sum / es.count <= 0.5 * Math.SQRT2 + 1e-9, `oracle AEE ${es.sum / es.count}`);
});

test('study: seeded, every group, AEE and PSNR on 3 tiny images (tiny model, its VGG as baseline)', async () => {
  const model = tinyModel();
  const vgg = new FeatureExtractor(model.weights, model.info.vggInput, 2);
  const images = [0, 1, 2].map((i) => ({ name: `img${i}`, image: scene(52 + 4 * i, 48, 40 + i) }));
  images.push({ name: 'tiny', image: scene(20, 20, 1) });
  try {
    const notes: string[] = [];
    const meta = { dataset: 'synthetic', model: 'tiny', vggBaseline: 'tiny vgg' };
    const r = await runRobustness(model, images, meta, { seed: 3, maxSize: 48, vgg, onNote: (m) => notes.push(m) });
    assert.deepEqual(r.images, ['img0', 'img1', 'img2']);
    assert.deepEqual(r.skipped, ['tiny']);
    assert.match(notes.join('\n'), /skipped tiny: 20x20 is smaller than 32x32/);
    assert.equal(r.samples.length, 3 * GROUPS.length);
    for (const s of r.samples) {
      const g = GROUPS.find((x) => x.id === s.group)!;
      const v = g.kind === 'rotation' ? Math.abs(s.param) : s.param;
      assert.ok(v >= g.range[0] && v <= g.range[1], `${s.group} parameter ${s.param} in range`);
      assert.ok(s.epe.refsr!.count > 0 && s.epe.vgg!.count === s.epe.refsr!.count && s.epe.vggDegraded!.count === s.epe.refsr!.count);
      assert.ok(Number.isFinite(s.psnrY.refsr) && Number.isFinite(s.psnrY.bicubic));
    }
    for (const g of r.groups) {
      assert.equal(g.samples, 3);
      for (const m of ['refsr', 'vgg', 'vggDegraded'] as const) assert.ok(g.aee[m]! >= 0 && g.pck1[m]! >= 0 && g.pck1[m]! <= 1);
    }
    // Same seed, same transformation parameters.
    const again = await runRobustness(model, images.slice(0, 1), meta, { seed: 3, maxSize: 48, groups: GROUPS.slice(0, 3) });
    assert.deepEqual(again.samples.map((s) => s.param), r.samples.slice(0, 3).map((s) => s.param));
    assert.equal(again.groups[0]!.aee.vgg, undefined, 'no baseline columns without a baseline extractor');
    // Table, JSON table and chart.
    const table = formatTable(r);
    for (const g of GROUPS) assert.match(table, new RegExp(`^${g.id} `, 'm'));
    assert.equal(jsonTable(r).length, GROUPS.length);
    const chart = robustnessChart(r);
    assert.match(chart.svg, /Correspondence error \(AEE/);
  } finally {
    await model.release();
    await vgg.release();
  }
});

test('real VGG19 relu3_1 matching recovers the known correspondence (shared data)', { skip: dataSkip }, async () => {
  const model = tinyModel();
  const vgg = await FeatureExtractor.vggFromFile(join(dataDir, 'vgg19-conv3_1', 'vgg19_relu3_1_oihw.json'), { threads: 2 });
  try {
    const image = await readImageFile(join(dataDir, 'set5', 'butterfly.png'));
    const groups = GROUPS.filter((g) => ['identity', 'scale-small', 'rotation-large'].includes(g.id));
    const r = await runRobustness(model, [{ name: 'butterfly', image }], { dataset: 'set5', model: 'tiny', vggBaseline: 'vgg19' }, { seed: 1, maxSize: 96, groups, vgg });
    const aee = Object.fromEntries(r.groups.map((g) => [g.group, g.aee.vggDegraded!]));
    // Matched against the identically degraded reference, VGG finds the true position almost everywhere.
    assert.ok(aee.identity! < 0.1, `identity AEE ${aee.identity}`);
    assert.ok(aee['scale-small']! < 1.5, `scale-small AEE ${aee['scale-small']}`);
    assert.ok(aee['rotation-large']! > aee.identity!, 'large rotations are harder');
  } finally {
    await model.release();
    await vgg.release();
  }
});

test('cli: refsr robustness writes the table, JSON report and PNG chart', async () => {
  const dir = tempDir('refsr-rob-');
  await makeImageSet(join(dir, 'imgs'), 2);
  const model = await writeTinyModelFile();
  const r = refsr(['robustness', join(dir, 'imgs'), '--model', model, '--max-size', '48',
    '--report', join(dir, 'rob.json'), '--chart', join(dir, 'rob.png'), '--seed', '2', '-q'], { timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^group +range +n +AEE refsr +AEE VGG +AEE VGG deg/m);
  assert.match(r.stdout, /^rotation-large +45-90 deg +2 /m);
  const j = JSON.parse(readFileSync(join(dir, 'rob.json'), 'utf8'));
  assert.equal(j.seed, 2);
  assert.equal(j.table.length, 7);
  const meta = await sharp(join(dir, 'rob.png')).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > 800 && meta.height! > 200);
  const bad = refsr(['robustness', join(dir, 'none'), '--model', model]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /image folder not found/);
  assert.ok(!existsSync(join(dir, 'none')));
  mkdirSync(join(dir, 'small'));
  await writeImage(join(dir, 'small', 'a.png'), scene(20, 20, 1));
  const small = refsr(['robustness', join(dir, 'small'), '--model', model, '--report', join(dir, 's.json'), '-q']);
  assert.equal(small.code, 1);
  assert.match(small.stderr, /no image is at least 32x32 px \(1 skipped\)/);
  assert.ok(!existsSync(join(dir, 's.json')));
});

test('cli: refsr robustness --low-memory gives the same table', async () => {
  const dir = tempDir('refsr-rob-low-');
  await makeImageSet(join(dir, 'imgs'), 1);
  const model = await writeTinyModelFile();
  const run = (extra: string[], name: string) => {
    const r = refsr(['robustness', join(dir, 'imgs'), '--model', model, '--max-size', '40', '--report', join(dir, `${name}.json`), '--chart', join(dir, `${name}.png`), '-q', ...extra], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { table: unknown[] };
  };
  const plain = run([], 'plain');
  const low = run(['--low-memory'], 'low');
  assert.equal(plain.table.length, 7);
  assert.deepEqual(low.table, plain.table);
});
