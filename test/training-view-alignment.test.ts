// The alignment of two photographs of one scene (training/data/view-alignment.ts) and the aligned multi-view samples
// it gives: RANSAC recovers a known homography from matches with outliers; VGG19 matching recovers the homography
// of a warped photograph; the JSON cache is reused; an aligned sample's reference shows the ground truth's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, dataSkip } from './support/shared.ts';
import { tempDir } from './support/temp.ts';
import { Rng } from '../src/random/rng.ts';
import { readImageFile } from '../src/image/decode.ts';
import { writeImage } from '../src/image/encode.ts';
import { crop } from '../src/image/layout.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';
import { getPerspectiveTransform, warpPerspective, invert3x3, type Mat3 } from '../src/training/data/homography.ts';
import { applyHomography, cachedAligner, localScale, ransacHomography } from '../src/training/data/view-alignment.ts';
import { loadScenes, multiviewSample } from '../src/training/data/pair-sources.ts';
import { DEFAULT_REFERENCE_PAIRS } from '../src/training/data/reference-pairs.ts';

const dir = tempDir('refsr-align-');
const vggFile = join(dataDir, 'vgg19-conv3_1', 'vgg19_relu3_1_oihw.json');

/** Largest distance between where H and G send the unit square's inner points. */
function mapDistance(H: Mat3, G: Mat3): number {
  let worst = 0;
  for (let y = 0.2; y <= 0.8; y += 0.2) {
    for (let x = 0.2; x <= 0.8; x += 0.2) {
      const [a, b] = applyHomography(H, x, y);
      const [c, d] = applyHomography(G, x, y);
      worst = Math.max(worst, Math.hypot(a - c, b - d));
    }
  }
  return worst;
}

test('RANSAC recovers a homography from matches with 60% outliers, and its local scale', () => {
  const truth = getPerspectiveTransform([[0, 0], [1, 0], [1, 1], [0, 1]], [[0.1, 0.05], [0.8, 0.1], [0.85, 0.9], [0.05, 0.8]]);
  const rng = new Rng(3);
  const src: [number, number][] = [];
  const dst: [number, number][] = [];
  for (let k = 0; k < 200; k++) {
    const p: [number, number] = [rng.uniform(), rng.uniform()];
    src.push(p);
    dst.push(k % 5 < 2 ? [...applyHomography(truth, p[0], p[1])] as [number, number] : [rng.uniform(), rng.uniform()]);
  }
  const r = ransacHomography(src, dst, 0.01, 500);
  assert.ok(r, 'a homography is found');
  assert.ok(r.inliers.length >= 80 && r.inliers.length <= 90, `inliers ${r.inliers.length} (80 true, a few outliers by chance)`);
  assert.ok(mapDistance(r.H, truth) < 1e-3, `distance ${mapDistance(r.H, truth)}`);
  const scaled = Float64Array.of(0.5, 0, 0.1, 0, 0.5, 0.2, 0, 0, 1);
  assert.ok(Math.abs(localScale(scaled, 0.4, 0.6) - 0.5) < 1e-6);
  assert.equal(ransacHomography(src.slice(0, 3), dst.slice(0, 3), 0.01, 10), null, 'fewer than 4 points: none');
});

test('VGG19 matching aligns a photograph with a warped, rescaled view of itself; the cache is reused', { skip: dataSkip }, async () => {
  const photo = await readImageFile(join(dataDir, 'set14', 'barbara.png'));
  const a = pilResizeBicubic(photo, 360, Math.round((360 * photo.height) / photo.width));
  // B: a perspective view of A (normalised coordinates A -> B = truth), seen at 1.5x A's size.
  const truth = getPerspectiveTransform([[0, 0], [1, 0], [1, 1], [0, 1]], [[0.08, 0.02], [0.95, 0.1], [0.9, 0.97], [0.02, 0.88]]);
  const bw = 540;
  const bh = Math.round((540 * a.height) / a.width);
  // warpPerspective samples the source at sampleAt(pixel of B): pixel B -> normalised B -> normalised A -> pixel A.
  const toPix = (w: number, h: number): Mat3 => Float64Array.of(w, 0, -0.5, 0, h, -0.5, 0, 0, 1);
  const toNorm = (w: number, h: number): Mat3 => invert3x3(toPix(w, h));
  const mul = (p: Mat3, q: Mat3): Mat3 => Float64Array.from({ length: 9 }, (_, k) => {
    const r = Math.floor(k / 3);
    const c = k % 3;
    return p[r * 3]! * q[c]! + p[r * 3 + 1]! * q[3 + c]! + p[r * 3 + 2]! * q[6 + c]!;
  });
  const sampleAt = mul(toPix(a.width, a.height), mul(invert3x3(truth), toNorm(bw, bh)));
  const hwc = { width: a.width, height: a.height, channels: 3, data: Float32Array.from(a.data) };
  const warped = warpPerspective(hwc, sampleAt, bw, bh);
  const b = rgbImage(bw, bh, Uint8Array.from(warped.data, (v) => Math.max(0, Math.min(255, Math.round(v)))));
  const cache = join(dir, 'align.json');
  const first = await cachedAligner(cache, vggFile);
  const links = await first.align('barbara', ['a.png', 'b.png'], [a, b]);
  await first.close();
  assert.equal(links[0]!.length, 1);
  assert.equal(links[1]!.length, 1);
  const H = links[0]![0]!.H;
  assert.ok(mapDistance(H, truth) < 0.02, `A -> B within 2% of the frame (got ${mapDistance(H, truth).toFixed(4)})`);
  assert.ok(mapDistance(links[1]![0]!.H, invert3x3(truth).map((v, _, m) => v / m[8]!) as Mat3) < 0.02, 'B -> A is the inverse');
  // Second use: read from the cache (no VGG file needed), same homography.
  const second = await cachedAligner(cache, join(dir, 'no-such-vgg.json'));
  const again = await second.align('barbara', ['a.png', 'b.png'], [a, b]);
  await second.close();
  assert.deepEqual([...again[0]![0]!.H], [...H]);
  // Other photo names: recomputed, which needs the (missing) VGG file.
  const third = await cachedAligner(cache, join(dir, 'no-such-vgg.json'));
  await assert.rejects(third.align('barbara', ['a.png', 'c.png'], [a, b]));
  // An aligned scene's samples: the reference shows the ground truth's content (vs. an unrelated crop of B).
  const root = join(dir, 'scenes');
  for (const [scene, imgs] of [['s1', [a, b]], ['s2', [crop(b, 0, 0, 200, 200), crop(a, 100, 50, 200, 200)]]] as const) {
    mkdirSync(join(root, scene), { recursive: true });
    for (const [i, img] of (imgs as readonly RgbImage[]).entries()) await writeImage(join(root, scene, `${i}.png`), img);
  }
  const aligner = await cachedAligner(join(dir, 'scenes.json'), vggFile);
  const { train } = await loadScenes(root, [], 160, aligner.align);
  await aligner.close();
  assert.ok(JSON.parse(readFileSync(join(dir, 'scenes.json'), 'utf8')).s1, 'cache written');
  const s1 = train.find((s) => s.name === 's1')!;
  assert.equal(s1.links?.[0]?.length, 1);
  const o = { ...DEFAULT_REFERENCE_PAIRS, lrPatch: 16, refSize: 96, unrelated: 0 };
  const rng = new Rng(9);
  for (let k = 0; k < 4; k++) {
    const s = multiviewSample([s1], rng, o);
    assert.deepEqual([s.gt.width, s.gt.height, s.ref.width, s.ref.height], [64, 64, 96, 96]);
    const mean = s.ref.data.reduce((x, v) => x + v, 0) / s.ref.data.length;
    assert.ok(s.ref.data.some((v) => Math.abs(v - mean) > 30), 'the reference is a window of the photo, not padding');
  }
});
