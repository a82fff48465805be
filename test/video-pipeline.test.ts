// The `refsr video` pipeline in-process on a random Ref-VSR network (num_blocks 1): the temporal window plan
// partitions any clip, a keyframe of another size than the frames runs the same computation as the official
// equal-size one (zero-padded keyframe: same output), windows give every frame once and in order, and the
// reconstruction in spatial windows gives the whole-frame result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { temporalWindows } from '../src/pipeline/temporal-windows.ts';
import { RefVsrModel } from '../src/pipeline/refvsr-model.ts';
import { runRefVsrStepwise } from '../src/pipeline/refvsr-stepwise.ts';
import { upscaleClip } from '../src/pipeline/refvsr-video.ts';
import { toNCHW } from '../src/image/layout.ts';
import { featureWindow } from '../src/tensor/feature-window.ts';
import type { RgbImage } from '../src/image/rgb-image.ts';
import { scene } from './support/eval-fixtures.ts';
import { randomTensor } from './support/random.ts';
import { Rng } from '../src/random/rng.ts';
import { writeTinyRefVsrFile } from './support/tiny-refvsr.ts';

test('temporal windows: every frame owned by exactly one window that contains it; full-length windows', () => {
  for (const [count, window, overlap] of [[1, 15, 4], [15, 15, 4], [16, 15, 4], [40, 15, 4], [41, 7, 3], [10, 2, 0], [10, 3, 2], [100, 15, 0]] as const) {
    const ws = temporalWindows(count, window, overlap);
    const owner = new Array<number>(count).fill(0);
    for (const w of ws) {
      assert.ok(w.start <= w.ownStart && w.ownEnd <= w.end && w.ownStart < w.ownEnd, JSON.stringify(w));
      assert.equal(w.end - w.start, Math.min(window, count));
      for (let i = w.ownStart; i < w.ownEnd; i++) owner[i]!++;
    }
    assert.deepEqual(owner, new Array(count).fill(1), `${count}/${window}/${overlap}`);
    for (let k = 1; k < ws.length; k++) assert.ok(ws[k]!.start > ws[k - 1]!.start && ws[k]!.start <= ws[k - 1]!.end - overlap);
  }
  assert.throws(() => temporalWindows(5, 4, 4), /overlap must be 0..3/);
  assert.throws(() => temporalWindows(5, 1, 0), /at least 2 frames/);
});

let model: RefVsrModel;
const frames: RgbImage[] = [];

before(async () => {
  model = await RefVsrModel.load(await writeTinyRefVsrFile(), { threads: 2 });
  const big = scene(100, 84, 11);
  for (let i = 0; i < 3; i++) {
    const data = new Uint8Array(80 * 64 * 3);
    for (let y = 0; y < 64; y++) data.set(big.data.subarray(((y + i) * 100 + 2 * i) * 3, ((y + i) * 100 + 2 * i + 80) * 3), y * 80 * 3);
    frames.push({ width: 80, height: 64, data });
  }
});
after(async () => { await model?.release(); });

test('a keyframe of another size: zero-padding the keyframe features leaves the output unchanged (any-size DCN path)', async () => {
  const lrs = frames.map(toNCHW);
  // relu1_1-like keyframe features at the HR frame size and matching flows of up to 4 LR cells (the real ones come
  // from the extractor and the matcher, tested elsewhere; here only the network's use of them matters).
  const rng = new Rng(5);
  const relu = randomTensor(rng, [1, 64, 256, 320], { abs: true });
  const flows = lrs.map(() => ({ shape: [1, 64, 80, 2], data: Float32Array.from({ length: 64 * 80 * 2 }, () => Math.floor(rng.uniform() * 9) - 4) }));
  const official = await runRefVsrStepwise(model.weights, model.config, lrs, relu, flows, { steps: model.steps });
  // The same keyframe features, zero-padded to 352x300: the windowed path (offset branch on the crop, DCN over the
  // larger map with the stride correction) must give the same frames.
  const padded = featureWindow(relu, 0, 0, 300, 352);
  const anySize = await runRefVsrStepwise(model.weights, model.config, lrs, padded, flows, { steps: model.steps });
  for (let i = 0; i < lrs.length; i++) {
    let max = 0;
    for (let k = 0; k < official[i]!.data.length; k++) max = Math.max(max, Math.abs(official[i]!.data[k]! - anySize[i]!.data[k]!));
    assert.ok(max < 1e-4, `frame ${i}: max difference ${max}`);
  }
});

test('windows and tiles: each frame once, in order, 4x size; windowed reconstruction = whole frame', async () => {
  const keyframe = scene(60, 48, 9);
  const clip = { count: 3, read: async (i: number) => frames[i]!, name: (i: number) => `f${i}` };
  const whole: RgbImage[] = [];
  const seen: number[] = [];
  const r = await upscaleClip(model, clip, keyframe, { window: 2, windowOverlap: 1, onFrame: async (i, sr) => { seen.push(i); whole[i] = sr; } });
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(r.windows, 2);
  assert.equal(r.tiles, 1);
  assert.deepEqual([whole[0]!.width, whole[0]!.height], [320, 256]);
  const tiled: RgbImage[] = [];
  // Reconstruction windows of 32 LR px (+4 margin): 3 x 2 per frame, the same frames up to float rounding.
  const rt = await upscaleClip(model, clip, keyframe, { window: 2, windowOverlap: 1, tile: 32, onFrame: async (i, sr) => { tiled[i] = sr; } });
  assert.equal(rt.tiles, 6);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < 3; i++) for (let k = 0; k < whole[i]!.data.length; k++) {
    const d = Math.abs(whole[i]!.data[k]! - tiled[i]!.data[k]!);
    max = Math.max(max, d);
    if (d) differing++;
  }
  assert.ok(max <= 1 && differing < 1e-3 * 3 * whole[0]!.data.length, `windowed vs whole: max ${max} levels, ${differing} values differ`);
  // Frames already done are skipped window by window.
  const again: number[] = [];
  const rs = await upscaleClip(model, clip, keyframe, { window: 2, windowOverlap: 1, skip: (i) => i < 2, onFrame: async (i) => { again.push(i); } });
  assert.deepEqual(again, [2]);
  assert.equal(rs.skipped, 2);
});
