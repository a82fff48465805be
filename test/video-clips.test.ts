// The video stage's synthetic clips (src/training/data/video-clips.ts): sizes, the honest matching view, the keyframe,
// and the exact flows: frame i sampled at its LR pixel centres equals frame i+1 sampled where flows_backward[i]
// says the same scene point went (and the forward flows undo the backward ones), on a smooth photo where bilinear
// sampling is exact enough to tell a wrong flow convention (half a pixel, a swapped axis, a sign) from a right one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticClip, DEFAULT_CLIP_OPTIONS, type ClipOptions } from '../src/training/data/video-clips.ts';
import { parseTrainConfig } from '../src/training/config.ts';
import { Rng } from '../src/random/rng.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';

function smoothPhoto(w: number, h: number): RgbImage {
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    img.data[(y * w + x) * 3 + c] = Math.round(128 + 60 * Math.sin(0.045 * x + 0.02 * c) + 50 * Math.cos(0.035 * y - 0.03 * x));
  }
  return img;
}

/** Bilinear sample of channel 0 of an HR frame at (x, y). */
function sample(img: RgbImage, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 3]!;
  return (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x0 + 1)) + fy * ((1 - fx) * p(y0 + 1, x0) + fx * p(y0 + 1, x0 + 1));
}

const opts: ClipOptions = { ...DEFAULT_CLIP_OPTIONS, frames: 4, lrPatch: 16, shift: 5, zoom: 0.03, rotation: 1, unrelated: 0 };

test('synthetic clips: frame sizes, LR /4, the honest matching view, keyframe = frame 0', () => {
  const c = syntheticClip([{ name: 'p', image: smoothPhoto(200, 180) }], new Rng(1), opts);
  assert.equal(c.gts.length, 4);
  for (const [imgs, side] of [[c.gts, 64], [c.lrs, 16], [c.ups, 64]] as const) for (const f of imgs) assert.deepEqual([f.width, f.height], [side, side]);
  assert.equal(c.keyframe, c.gts[0]);
  assert.ok(c.keyframeRelated);
  assert.equal(c.flowsBackward.length, 3);
  assert.deepEqual(c.flowsForward[0]!.shape, [1, 2, 16, 16]);
});

test('synthetic clips: the flows follow the camera path (frame i at p = frame i+1 at p + flow), both directions', () => {
  const photo = smoothPhoto(240, 220);
  for (const seed of [2, 3, 4]) {
    const c = syntheticClip([{ name: 'p', image: photo }], new Rng(seed), opts);
    let err = 0;
    let moved = 0;
    let roundTrip = 0;
    let n = 0;
    for (let i = 0; i < 3; i++) {
      const fb = c.flowsBackward[i]!.data;
      const ff = c.flowsForward[i]!.data;
      for (let y = 2; y < 14; y++) for (let x = 2; x < 14; x++) {
        const k = y * 16 + x;
        const [dx, dy] = [fb[k]!, fb[256 + k]!];
        const hx = 4 * x + 1.5;
        const hy = 4 * y + 1.5;
        const tx = hx + 4 * dx;
        const ty = hy + 4 * dy;
        if (tx < 0 || ty < 0 || tx > 62 || ty > 62) continue;
        err += Math.abs(sample(c.gts[i]!, hx, hy) - sample(c.gts[i + 1]!, tx, ty));
        moved += Math.hypot(dx, dy);
        // The forward flow at the target (nearest LR pixel) points back: small residual only from that rounding.
        const bx = Math.round(x + dx);
        const by = Math.round(y + dy);
        const kk = by * 16 + bx;
        roundTrip += Math.hypot(dx + ff[kk]!, dy + ff[256 + kk]!);
        n++;
      }
    }
    assert.ok(n > 200, `only ${n} points inside`);
    assert.ok(moved / n > 0.1, `the camera hardly moved (${moved / n} LR px)`);
    assert.ok(err / n < 1.5, `frames disagree along the flow by ${err / n} levels on average (seed ${seed})`);
    assert.ok(roundTrip / n < 0.1, `forward flow does not undo the backward one (${roundTrip / n} LR px)`);
  }
});

test('synthetic clips: an unrelated keyframe comes from another photo', () => {
  const photos = [{ name: 'a', image: smoothPhoto(200, 180) }, { name: 'b', image: rgbImage(200, 180, new Uint8Array(200 * 180 * 3).fill(7)) }];
  const rng = new Rng(5);
  let unrelated = 0;
  for (let k = 0; k < 20; k++) {
    const c = syntheticClip(photos, rng, { ...opts, unrelated: 1 });
    if (!c.keyframeRelated) {
      unrelated++;
      assert.notEqual(c.keyframe, c.gts[0]);
      assert.deepEqual([c.keyframe.width, c.keyframe.height], [64, 64]);
    }
  }
  assert.ok(unrelated >= 5, `${unrelated} of 20 clips had an unrelated keyframe`);
});

test('video stage config: defaults, the reduced network and clear errors', () => {
  const cfg = parseTrainConfig('stage: video\ninit: { extractor: m.safetensors }\ndata: { train: [p] }\nmodel: { video: { mid: 32, blocks: 2 } }\n', '/x/c.yaml');
  assert.deepEqual(cfg.model.video, { numBlocks: 2, groups: 8, mid: 32 });
  assert.deepEqual(cfg.data.clip, DEFAULT_CLIP_OPTIONS);
  assert.equal(cfg.losses.flow, 0.05);
  assert.equal(cfg.lrGroups['spynet.mean'], 0);
  assert.throws(() => parseTrainConfig('stage: video\ninit: { extractor: m }\ndata: { train: [p] }\nmodel: { video: { mid: 20, groups: 8 } }\n', 'c.yaml'), /model.video.groups 8 must divide 64 and model.video.mid 20/);
  assert.throws(() => parseTrainConfig('stage: video\ninit: { extractor: m }\ndata: { train: [p], clip: { frames: 1 } }\n', 'c.yaml'), /"frames" must be an integer of at least 2/);
  assert.throws(() => parseTrainConfig('stage: video\ndata: { train: [p] }\n', 'c.yaml'), /the video stage needs init.extractor/);
});
