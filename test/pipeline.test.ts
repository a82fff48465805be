// The inference chain on a tiny seeded model: tiles see exactly the inputs the whole image would give them, the
// tiled result has no seams, references of any size and several references work, and bad sizes are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyModel, tinyWeights, tinyWeightsWith, modelOf } from './support/tiny-model.ts';
import { describeBundle } from '../src/models/model-bundle.ts';
import { tileInputs, restoreTiled } from '../src/pipeline/restore-tiled.ts';
import { tileLayout } from '../src/pipeline/tiles.ts';
import { upscale, UpscaleInputError } from '../src/pipeline/upscale.ts';
import { buildReferenceCanvas } from '../src/pipeline/reference-canvas.ts';
import { scene } from './support/eval-fixtures.ts';
import { randomTensor } from './support/random.ts';
import { toNCHW } from '../src/image/layout.ts';
import { Rng } from '../src/random/rng.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

const texture = (w: number, h: number, seed: number) => scene(w, h, seed);
const randomFeatures = (shape: number[], seed: number) => randomTensor(seed, shape, { abs: true });

test('tile layout covers the image with equal tiles and at least the requested overlap', () => {
  for (const [h, w] of [[95, 125], [30, 40], [200, 97], [250, 190]] as const) {
    const l = tileLayout(h, w, 48, 8);
    const cover = new Uint8Array(h * w);
    for (const t of l.tiles) {
      assert.equal(t.h, l.tiles[0]!.h);
      assert.ok(t.h <= 48 && t.w <= 48 && t.y + t.h <= h && t.x + t.w <= w);
      for (let y = t.y; y < t.y + t.h; y++) for (let x = t.x; x < t.x + t.w; x++) cover[y * w + x] = 1;
    }
    assert.ok(cover.every((v) => v === 1), `${h}x${w} fully covered`);
  }
});

for (const lowering of ['gridsample', 'auto'] as const) test(`a tile computes what the whole image computes away from its border (${lowering} DCN)`, async () => {
  const model = tinyModel(7, undefined, lowering);
  try {
    const [h, w] = [32, 32];
    const lr = toNCHW(texture(w, h, 1));
    // A reference of a different size than the input: 18 x 30 LR cells.
    const ref = { contras: randomFeatures([1, 256, 18, 30], 2), relu3_1: randomFeatures([1, 256, 18, 30], 3), relu2_1: randomFeatures([1, 128, 36, 60], 4), relu1_1: randomFeatures([1, 64, 72, 120], 5) };
    const rng = new Rng(9);
    const flow: Float32Tensor = { shape: [1, h, w, 2], data: new Float32Array(h * w * 2).map(() => Math.round(rng.normal() * 5)) };
    const whole = await model.restore(tileInputs(lr, ref, flow, 0, 0, h, w));
    const [ty, tx, th, tw] = [4, 6, 26, 26];
    const tile = await model.restore(tileInputs(lr, ref, flow, ty, tx, th, tw));
    // The tiny model's receptive field is about 10 LR px (40 output px): compare the tile's interior.
    let maxDiff = 0;
    for (let c = 0; c < 3; c++) for (let y = 40; y < 4 * th - 40; y++) for (let x = 40; x < 4 * tw - 40; x++) {
      const a = tile.data[(c * 4 * th + y) * 4 * tw + x]!;
      const b = whole.data[(c * 4 * h + y + 4 * ty) * 4 * w + x + 4 * tx]!;
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
    }
    // DeformConv on a different grid folds large base positions into the offsets: float32 position noise ~1e-4 px.
    assert.ok(maxDiff < (lowering === 'gridsample' ? 1e-5 : 2e-3), `tile interior differs from the whole image by ${maxDiff}`);
    // The blended tiling stays close to the whole image everywhere (no seams). Measured (tile 20, overlap 10):
    // largest gap 0.0050, RMS 5.30e-4; with ramps of half the right length (2x overlap output px instead of 4x)
    // 0.0076 / 7.57e-4, three quarters 0.0057 / 5.81e-4, no ramps 0.062. Tile 16, overlap 8: 0.0065 / 7.66e-4
    // (half ramps 0.0093 / 1.04e-3). The bounds sit just above the right ramps' figures.
    for (const [tile, overlap, maxBound, rmsBound] of [[20, 10, 0.006, 5.6e-4], [16, 8, 0.0075, 7.9e-4]] as const) {
      const tiled = await restoreTiled(model, lr, ref, flow, { tile, overlap });
      let worst = 0;
      let sq = 0;
      for (let i = 0; i < tiled.data.length; i++) {
        const d = Math.abs(tiled.data[i]! - whole.data[i]!);
        worst = Math.max(worst, d);
        sq += d * d;
      }
      const rms = Math.sqrt(sq / tiled.data.length);
      assert.ok(worst < maxBound, `tile ${tile}/${overlap}: tiled result deviates by ${worst} (bound ${maxBound})`);
      assert.ok(rms < rmsBound, `tile ${tile}/${overlap}: RMS deviation ${rms} (bound ${rmsBound})`);
    }
  } finally {
    await model.release();
  }
});

test('upscale: any reference size, several references, and size limits', async () => {
  const model = tinyModel();
  try {
    const lr = texture(20, 16, 3);
    const r1 = await upscale(model, lr, [{ image: texture(50, 90, 4), name: 'tall.png' }]);
    assert.deepEqual([r1.sr.width, r1.sr.height], [80, 64]);
    const r2 = await upscale(model, lr, [{ image: texture(40, 40, 5), name: 'a.png' }, { image: texture(30, 60, 6), name: 'b.png' }], { refMaxPixels: 2000 });
    assert.deepEqual([r2.sr.width, r2.sr.height], [80, 64]);
    assert.ok(r2.notes.some((n) => n.includes('downscaled')) && r2.notes.some((n) => n.includes('packed')));
    await assert.rejects(upscale(model, texture(8, 30, 1), [{ image: texture(40, 40, 5), name: 'r' }]), UpscaleInputError);
    await assert.rejects(upscale(model, lr, [{ image: texture(40, 40, 5), name: 'r' }], { maxInputPixels: 100 }), /limit is/);
    assert.throws(() => buildReferenceCanvas([{ image: texture(10, 40, 1), name: 'thin.png' }]), /thin\.png.*at least/);
  } finally {
    await model.release();
  }
});

test('cancellation stops the work with an AbortError', async () => {
  const model = tinyModel();
  try {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(upscale(model, texture(20, 16, 3), [{ image: texture(40, 40, 5), name: 'r' }], { signal: controller.signal }));
  } finally {
    await model.release();
  }
});

test('feature extraction in windows equals one whole-image pass', async () => {
  const { extractInWindows } = await import('../src/pipeline/feature-tiles.ts');
  const model = tinyModel();
  try {
    const img = toNCHW(texture(72, 56, 8));
    const whole = await model.referenceFeatures(img);
    const run = async (win: Float32Tensor) => {
      const f = await model.referenceFeatures(win);
      return { contras: f.contras, relu1_1: f.relu1_1, relu2_1: f.relu2_1, relu3_1: f.relu3_1 };
    };
    const tiled = await extractInWindows(img, { contras: 4, relu1_1: 1, relu2_1: 2, relu3_1: 4 }, run, { tile: 24, margin: 16 });
    for (const k of ['contras', 'relu1_1', 'relu2_1', 'relu3_1'] as const) {
      assert.deepEqual(tiled[k]!.shape, whole[k].shape);
      let d = 0;
      let m = 0;
      for (let i = 0; i < whole[k].data.length; i++) { d = Math.max(d, Math.abs(tiled[k]!.data[i]! - whole[k].data[i]!)); m = Math.max(m, Math.abs(whole[k].data[i]!)); }
      assert.ok(d <= 1e-5 * m, `${k}: windows differ by ${d} (max ${m})`);
    }
  } finally {
    await model.release();
  }
});

test('matching view: a degraded-view model matches against bicubic /4 x4 of the reference, aggregates the sharp one', async () => {
  const { matchingView } = await import('../src/matching/reference-view.ts');
  const { pilResizeBicubic } = await import('../src/image/pil-bicubic.ts');
  const { correspondenceFeatures } = await import('../src/pipeline/super-resolve.ts');
  const ref = texture(44, 36, 12);
  assert.equal(matchingView(ref, 'sharp'), ref);
  const view = matchingView(ref, 'degraded');
  assert.deepEqual(view, pilResizeBicubic(pilResizeBicubic(ref, 11, 9), 44, 36));

  assert.equal(describeBundle(tinyWeights(), 'tiny').matchReference, 'sharp', 'official behaviour by default');
  assert.throws(() => describeBundle(tinyWeightsWith({ 'refsr.match_reference': 'blurry' }), 'odd.safetensors'), /odd\.safetensors: unknown refsr\.match_reference "blurry"/);
  const sharpModel = tinyModel();
  const degModel = modelOf(tinyWeightsWith({ 'refsr.match_reference': 'degraded' }), 'tiny-degraded');
  try {
    const up = texture(32, 28, 13);
    const s = await correspondenceFeatures(sharpModel, up, ref);
    const d = await correspondenceFeatures(degModel, up, ref);
    const viewFeat = await sharpModel.referenceFeatures(toNCHW(view));
    assert.deepEqual(d.inFeat.data, s.inFeat.data);
    assert.deepEqual(d.refFeat.relu1_1.data, s.refFeat.relu1_1.data, 'aggregated features come from the sharp reference');
    assert.deepEqual(d.refFeat.relu3_1.data, s.refFeat.relu3_1.data);
    let diff = 0;
    for (let i = 0; i < viewFeat.contras.data.length; i++) diff = Math.max(diff, Math.abs(d.refFeat.contras.data[i]! - viewFeat.contras.data[i]!));
    assert.ok(diff < 1e-5, `matching features are the degraded view's (max diff ${diff})`);
    assert.notDeepEqual(d.refFeat.contras.data, s.refFeat.contras.data);
  } finally {
    await sharpModel.release();
    await degModel.release();
  }
});

test('a bundle\'s own "reference looks unrelated" threshold (refsr.unrelated_score) is read, checked and used', async () => {
  const withScore = (v: string) => tinyWeightsWith({ 'refsr.unrelated_score': v });
  assert.equal(describeBundle(tinyWeights(), 'tiny').unrelatedScore, undefined, 'absent: the default threshold');
  for (const bad of ['high', '1.5', 'NaN']) {
    assert.throws(() => describeBundle(withScore(bad), 'odd.safetensors'), new RegExp(`odd\\.safetensors: metadata refsr\\.unrelated_score must be a score in \\(-1, 1\\], got "${bad}"`));
  }
  // A threshold of 0.99 flags any reference of the tiny model; -0.99 none; the caller's option still wins.
  const lr = texture(16, 14, 21);
  const ref = texture(40, 32, 22);
  for (const [v, opt, warned] of [['0.99', undefined, true], ['-0.99', undefined, false], ['0.99', -0.99, false]] as const) {
    const model = modelOf(withScore(v), 'tiny', 1);
    try {
      const r = await upscale(model, lr, [{ image: ref, name: 'ref.png' }], { unrelatedScore: opt });
      assert.equal(r.warnings.length, warned ? 1 : 0, `threshold ${v}, option ${opt}: ${r.warnings.join('; ')}`);
      if (warned) assert.match(r.warnings[0]!, /below 0\.99\)/);
    } finally {
      await model.release();
    }
  }
});

test('auto matching switches to the fast mode above the pair limit, and says so', async () => {
  const model = tinyModel();
  try {
    const lr = texture(20, 16, 3);
    const refs = [{ image: texture(40, 36, 5), name: 'r.png' }];
    // LR 20x16 against a 40x36 reference: the contrastive features are at 1/4 of the x4-upsampled input and of the
    // reference, so grids of 20x16 and 10x9 cells: (18 * 14) x (8 * 7) = 14,112 patch pairs.
    const pairs = 18 * 14 * 8 * 7;
    const exact = await upscale(model, lr, refs, { exactPairLimit: pairs });
    assert.equal(exact.matching, 'exact', 'at the limit: exact');
    assert.ok(!exact.notes.some((n) => n.includes('fast')));
    const fast = await upscale(model, lr, refs, { exactPairLimit: pairs - 1 });
    assert.equal(fast.matching, 'fast', 'one pair above the limit: fast');
    assert.ok(fast.notes.some((n) => /fast coarse-to-fine matching.*the matching option set to exact/.test(n)), fast.notes.join('; '));
    const forced = await upscale(model, lr, refs, { exactPairLimit: pairs - 1, matching: 'exact' });
    assert.equal(forced.matching, 'exact', '--matching exact overrides auto');
    const asked = await upscale(model, lr, refs, { matching: 'fast' });
    assert.equal(asked.matching, 'fast');
    assert.ok(!asked.notes.some((n) => n.includes('fast coarse-to-fine')), 'no note when the user asked for it');
    // The default limit (4e8 pairs, about 125x95 against an equal reference) keeps this pair exact.
    assert.equal((await upscale(model, lr, refs)).matching, 'exact');
  } finally {
    await model.release();
  }
});
