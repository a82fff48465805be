// Reference retrieval (`upscale --ref-dir`): the scene score (coarse dense matching of small feature grids), decoding
// at reduced size, ranking an album with the tiny model (the input's own scene first, unreadable files skipped with a
// warning naming them, other files ignored, the input itself left out), and the command line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from './support/temp.ts';
import { refsr } from './support/cli.ts';
import { randomTensor } from './support/random.ts';
import { tinyModel, writeTinyModelFile } from './support/tiny-model.ts';
import { scene, save } from './support/eval-fixtures.ts';
import { crop } from '../src/image/layout.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';
import { Rng } from '../src/random/rng.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { decodeImage } from '../src/image/decode.ts';
import { albumScores, consistentVote, distinctiveScores, meanFeature, referenceMatches, referenceScore, scoreGrid, standardise } from '../src/matching/scene-score.ts';
import { SceneScorer } from '../src/matching/scene-score-graph.ts';
import { listAlbum, rankAlbum, retrievalView } from '../src/pipeline/reference-retrieval.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

test('scene score: a grid against itself scores 1 with every cell mutual; against noise far less', () => {
  const a = randomTensor(1, [1, 16, 6, 5]);
  const b = randomTensor(2, [1, 16, 7, 4]);
  const self = referenceScore(scoreGrid(a), scoreGrid(a));
  assert.ok(Math.abs(self.score - 1) < 1e-5, `self score ${self.score}`);
  assert.equal(self.mutual, 1);
  const other = referenceScore(scoreGrid(a), scoreGrid(b));
  assert.ok(other.score < 0.8 && other.mutual < 0.7, JSON.stringify(other));
  // A reference containing the input's cells (plus others) still finds each of them exactly.
  const both: Float32Tensor = { shape: [1, 16, 1, 58], data: new Float32Array(16 * 58) };
  for (let k = 0; k < 16; k++) for (let i = 0; i < 30; i++) both.data[k * 58 + i] = a.data[k * 30 + i]!;
  for (let k = 0; k < 16; k++) for (let i = 0; i < 28; i++) both.data[k * 58 + 30 + i] = b.data[k * 28 + i]!;
  assert.ok(Math.abs(referenceScore(scoreGrid(a), scoreGrid(both)).score - 1) < 1e-5);
  assert.throws(() => referenceScore(scoreGrid(a), scoreGrid(randomTensor(3, [1, 8, 2, 2]))), /channels/);
});

test('scene score on ONNX Runtime (what album ranking runs) agrees with the JS definition', async () => {
  const scorer = await SceneScorer.create(1);
  try {
    for (const [sa, sb] of [[[1, 24, 7, 5], [1, 24, 6, 9]], [[1, 8, 1, 1], [1, 8, 3, 2]]] as const) {
      const a = scoreGrid(randomTensor(10, sa));
      const b = scoreGrid(randomTensor(11, sb));
      const js = referenceScore(a, b);
      const ort = await scorer.score(a, b);
      assert.ok(Math.abs(js.score - ort.score) < 1e-6, `${js.score} vs ${ort.score}`);
      assert.equal(ort.mutual, js.mutual);
      const jsPairs = referenceMatches(a, b).pairs;
      const ortPairs = (await scorer.bestMatches(a, b)).pairs;
      assert.deepEqual([...ortPairs], [...jsPairs]);
      assert.equal(jsPairs.length / 2, Math.round(js.mutual * a.height * a.width));
    }
  } finally {
    await scorer.release();
  }
});

test('album-relative scores: a photo matching the input\'s cells unusually well ranks first; cells that match everything count for little', () => {
  // Cell 0 matches every photo equally (sky); cell 1 matches photo 2 far better than the others.
  const best = [Float32Array.of(0.9, 0.2, 0.3), Float32Array.of(0.9, 0.25, 0.35), Float32Array.of(0.9, 0.8, 0.3), Float32Array.of(0.9, 0.2, 0.32)];
  const d = distinctiveScores(best, 0.34);
  assert.equal(d.indexOf(Math.max(...d)), 2);
  assert.ok(d[2]! > 1.5, String(d[2]));
  assert.deepEqual(distinctiveScores([Float32Array.of(0.5, 0.7)]), [0]);
  assert.throws(() => distinctiveScores([Float32Array.of(1), Float32Array.of(1, 2)]), /input cells/);
});

/** Mutual pairs (flattened input cell, reference cell) placing a w x h input grid at scale s and shift (tx, ty) in a reference grid of width refW. */
function placedPairs(w: number, h: number, refW: number, s: number, tx: number, ty: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(y * w + x, Math.round(ty + s * y) * refW + Math.round(tx + s * x));
  return out;
}

test('geometric vote: matches agreeing on one placement (any listed scale) outvote as many scattered ones; weights count', () => {
  const w = 8, h = 6, refW = 24;
  const ones = new Float64Array(w * h).fill(1);
  for (const s of [0.5, 1, 1.41, 2]) {
    const placed = Int32Array.from(placedPairs(w, h, refW, s, 3, 2));
    // Rounding to cells keeps every match within a bin of the true shift: all 48 meet in one bin.
    assert.equal(consistentVote(placed, w, refW, ones), w * h, `scale ${s}`);
  }
  // The same input cells matched to random reference cells (each reference cell once, as mutual matches are).
  const rng = new Rng(7);
  const cells = Array.from({ length: refW * 20 }, (_, j) => j);
  for (let i = cells.length - 1; i > 0; i--) { const k = Math.floor(rng.uniform() * (i + 1)); [cells[i], cells[k]] = [cells[k]!, cells[i]!]; }
  const scattered = Int32Array.from(Array.from({ length: w * h }, (_, i) => [i, cells[i]!]).flat());
  const vote = consistentVote(scattered, w, refW, ones);
  assert.ok(vote <= 0.35 * w * h, `scattered matches vote ${vote}`);
  // Only weighted matches count: half the cells at weight 0 halve the vote; negative weights count as 0.
  const half = Float64Array.from(ones, (_, i) => (i % 2 ? 1 : -1));
  assert.equal(consistentVote(Int32Array.from(placedPairs(w, h, refW, 1, 3, 2)), w, refW, half), w * h / 2);
  assert.equal(consistentVote(new Int32Array(0), w, refW, ones), 0);
  assert.throws(() => consistentVote(Int32Array.of(1, 2, 3), w, refW, ones), /pairs/);
});

test('album scores: of two photos whose cells match equally well, the one whose matches agree geometrically ranks first', () => {
  const w = 6, h = 4, refW = 16, n = w * h;
  const rng = new Rng(3);
  // Ten unrelated photos (low, noisy best cosines, scattered matches) and two candidates with the same high cosines.
  const photos: { best: Float32Array; pairs: Int32Array; refWidth: number }[] = [];
  const scatter = () => Int32Array.from(Array.from({ length: n }, (_, i) => [i, Math.floor(rng.uniform() * refW * 12)]).flat());
  for (let p = 0; p < 10; p++) photos.push({ best: Float32Array.from({ length: n }, () => 0.3 + 0.1 * rng.uniform()), pairs: scatter(), refWidth: refW });
  const high = Float32Array.from({ length: n }, () => 0.7 + 0.05 * rng.uniform());
  photos.push({ best: high, pairs: scatter(), refWidth: refW });
  photos.push({ best: Float32Array.from(high), pairs: Int32Array.from(placedPairs(w, h, refW, 1.41, 2, 1)), refWidth: refW });
  const s = albumScores(w, photos);
  assert.equal(s.appearance[10], s.appearance[11], 'same cosines, same appearance');
  assert.ok(s.geometry[11]! > 2 * s.geometry[10]!, JSON.stringify(s.geometry.slice(10)));
  const order = s.combined.map((v, k) => ({ v, k })).sort((a, b) => b.v - a.v).map((x) => x.k);
  assert.deepEqual(order.slice(0, 2), [11, 10]);
  // Album-relative: standardised parts, and a one-photo album scores 0.
  assert.deepEqual(albumScores(w, [photos[11]!]).combined, [0]);
  assert.deepEqual(standardise([2, 2, 2]), [0, 0, 0]);
  const z = standardise([1, 2, 3, 6]);
  assert.ok(Math.abs(z.reduce((a, b) => a + b, 0)) < 1e-12 && Math.abs(z.reduce((a, b) => a + b * b, 0) - 4) < 1e-9);
});

test('scene score: centring removes what every cell shares', () => {
  // Two unrelated grids plus a large common offset look alike until the common mean is removed.
  const a = randomTensor(4, [1, 8, 4, 4], { offset: 5 });
  const b = randomTensor(5, [1, 8, 4, 4], { offset: 5 });
  const centre = meanFeature([a, b]);
  assert.ok(Math.abs(centre[0]! - 5) < 0.5);
  const raw = referenceScore(scoreGrid(a), scoreGrid(b)).score;
  const centred = referenceScore(scoreGrid(a, centre), scoreGrid(b, centre)).score;
  assert.ok(raw > 0.95 && centred < 0.8, `raw ${raw}, centred ${centred}`);
});

test('reduced-size decoding: the long side is capped, aspect and the stored size kept; JPEG shrinks on load', async () => {
  const dir = tempDir('refsr-decode-small-');
  const img = scene(240, 120, 3);
  await save(join(dir, 'a.png'), img);
  const jpg = join(dir, 'b.jpg');
  await sharp(Buffer.from(img.data), { raw: { width: 240, height: 120, channels: 3 } }).jpeg().toFile(jpg);
  for (const f of ['a.png', 'b.jpg']) {
    const small = await decodeImage(join(dir, f), { maxSide: 60 });
    assert.deepEqual([small.width, small.height], [60, 30], f);
    assert.deepEqual(small.fullSize, [240, 120], f);
  }
  const whole = await decodeImage(join(dir, 'a.png'), { maxSide: 500 });
  assert.deepEqual([whole.width, whole.height], [240, 120]);
  assert.deepEqual([...whole.data.subarray(0, 30)], [...img.data.subarray(0, 30)]);
  await assert.rejects(decodeImage(join(dir, 'a.png'), { maxSide: 0 }), /maxSide/);
});

test('retrieval view: long side scaled to the view size on a fixed canvas, cells covering the image', () => {
  const v = retrievalView(scene(100, 50, 1), 64);
  assert.deepEqual([v.canvas.width, v.canvas.height], [64, 64]);
  assert.deepEqual(v.cells, [8, 16]);
  assert.equal(v.canvas.data[(40 * 64 + 10) * 3], 0, 'below the image the canvas is black');
});

/** A smooth random photo-like image: bicubic x8 of random pixels (unrelated for different seeds). */
function smoothPhoto(seed: number, w: number, h: number): RgbImage {
  const rng = new Rng(seed);
  const small = rgbImage(Math.ceil(w / 8), Math.ceil(h / 8));
  for (let i = 0; i < small.data.length; i++) small.data[i] = Math.floor(rng.uniform() * 256);
  return pilResizeBicubic(small, w, h);
}

let albumDir = '';
let inputPath = '';
const big = smoothPhoto(11, 240, 180);

before(async () => {
  // The album: two other views of the input's scene, three unrelated photos, a damaged JPEG, a text file.
  albumDir = tempDir('refsr-album-');
  await save(join(albumDir, 'same-a.png'), crop(big, 0, 0, 200, 160));
  await save(join(albumDir, 'same-b.jpg'), crop(big, 30, 10, 200, 160));
  for (const s of [21, 22, 23]) await save(join(albumDir, `other-${s}.png`), smoothPhoto(s, 200, 160));
  writeFileSync(join(albumDir, 'broken.jpg'), Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3));
  writeFileSync(join(albumDir, 'notes.txt'), 'not a photo');
  mkdirSync(join(albumDir, 'subfolder'));
  inputPath = join(albumDir, 'zz-input.png');
  await save(inputPath, pilResizeBicubic(crop(big, 20, 10, 200, 160), 50, 40));
});

test('ranking an album: the same scene first, the damaged file skipped with its reason, other files and the input left out', async () => {
  const { files, ignored } = listAlbum(albumDir);
  assert.equal(ignored, 1);
  assert.equal(files.length, 7);
  const model = tinyModel();
  try {
    const input = await decodeImage(inputPath);
    const skippedNow: string[] = [];
    const r = await rankAlbum(model, input, files, { exclude: [inputPath], onSkip: (f) => skippedNow.push(f) });
    assert.deepEqual(r.skipped.map((s) => s.file), [join(albumDir, 'broken.jpg')]);
    assert.deepEqual(skippedNow, [join(albumDir, 'broken.jpg')]);
    assert.match(r.skipped[0]!.reason, /damaged|truncated/);
    assert.equal(r.ranking.length, 5);
    assert.deepEqual(r.ranking.slice(0, 2).map((c) => c.file).sort(), [join(albumDir, 'same-a.png'), join(albumDir, 'same-b.jpg')]);
    assert.deepEqual(r.ranking.find((c) => c.file.endsWith('same-b.jpg'))!.size, [200, 160]);
    for (let i = 1; i < r.ranking.length; i++) assert.ok(r.ranking[i - 1]!.distinct >= r.ranking[i]!.distinct);
  } finally {
    await model.release();
  }
});

test('refsr upscale --ref-dir: prints the ranking with scores, warns about the damaged file, uses the top K', async () => {
  const modelPath = await writeTinyModelFile();
  const out = join(tempDir('refsr-album-out-'), 'sr.png');
  const r = refsr(['upscale', inputPath, '--ref-dir', albumDir, '--top-k', '2', '-o', out, '--model', modelPath, '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.match(r.stderr, /warning: skipped .*broken\.jpg: .*(damaged|truncated)/);
  assert.match(r.stderr, /reference ranking of 5 photos/);
  assert.match(r.stderr, /1\. distinct +-?\d+\.\d\d \(appearance +-?\d+\.\d\d, geometry +-?\d+\.\d\d\) {2}score -?\d\.\d{3} {2}mutual \d\.\d{3} {2}same-.*<- used/);
  assert.match(r.stderr, /packed into one canvas/);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(summary.topK, 2);
  assert.equal(summary.ranking.length, 5);
  assert.deepEqual(summary.refs, summary.ranking.slice(0, 2).map((c: { file: string }) => c.file));
  assert.equal(summary.skipped.length, 1);
});

test('refsr upscale: --ref-dir usage errors', async () => {
  const out = join(tempDir('refsr-album-usage-'), 'sr.png');
  const both = refsr(['upscale', inputPath, '--ref-dir', albumDir, '--ref', inputPath, '-o', out]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /not both/);
  const noRef = refsr(['upscale', inputPath, '-o', out]);
  assert.equal(noRef.code, 2);
  assert.match(noRef.stderr, /--ref-dir/);
  const empty = tempDir('refsr-album-empty-');
  copyFileSync(join(albumDir, 'notes.txt'), join(empty, 'notes.txt'));
  const none = refsr(['upscale', inputPath, '--ref-dir', empty, '-o', out]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no photos found/);
  assert.equal(existsSync(out), false);
});
