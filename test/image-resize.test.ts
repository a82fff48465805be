import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GoldenCase } from '../src/golden/case-files.ts';
import { run } from '../src/golden/cases/resize.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { bilinearUpsample } from '../src/image/bilinear.ts';
import { matlabImresize } from '../src/image/matlab-imresize.ts';
import { crop, fromNCHW, modCrop, padBottomRight, roundHalfEven, toNCHW } from '../src/image/layout.ts';
import { rgbImage } from '../src/image/rgb-image.ts';
import { float32Tensor } from '../src/tensor/host-tensor.ts';
import { goldenDir, goldenSkip } from './support/shared.ts';

describe('golden resize', { skip: goldenSkip }, () => {
  test('every PIL, bilinear and MATLAB check passes', async () => {
    const results = await run(await GoldenCase.open(join(goldenDir, 'resize')));
    assert.ok(results.length > 0, 'no checks ran');
    for (const name of ['lr_', 'up_', 'bilinear_out', 'matlab_down_', 'matlab_up_']) {
      assert.ok(results.some((r) => r.name.startsWith(name)), `no ${name} check`);
    }
    const failed = results.filter((r) => !r.pass).map((r) => `${r.name}: error ${r.error} > ${r.bound} ${r.detail ?? ''}`);
    assert.deepEqual(failed, []);
  });
});

function constant(w: number, h: number, rgb: [number, number, number]) {
  const d = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) d.set(rgb, i * 3);
  return rgbImage(w, h, d);
}

describe('resizers (properties)', () => {
  test('PIL bicubic keeps a constant image constant at odd sizes, both directions', () => {
    for (const [w, h, ow, oh] of [[93, 125, 23, 31], [23, 31, 93, 125], [7, 5, 7, 11], [10, 3, 4, 3]] as const) {
      const out = pilResizeBicubic(constant(w, h, [0, 128, 255]), ow, oh);
      assert.deepEqual([out.width, out.height], [ow, oh]);
      for (let i = 0; i < out.data.length; i += 3) assert.deepEqual([out.data[i], out.data[i + 1], out.data[i + 2]], [0, 128, 255]);
    }
  });

  test('PIL bicubic at the same size is a copy', () => {
    const img = rgbImage(3, 2, Uint8Array.from({ length: 18 }, (_, i) => i * 13));
    const out = pilResizeBicubic(img, 3, 2);
    assert.deepEqual(out.data, img.data);
    assert.notEqual(out.data, img.data);
  });

  test('bilinear and MATLAB resizes keep constants and have the right sizes', () => {
    const b = bilinearUpsample(float32Tensor([1, 2, 3, 5], new Float32Array(30).fill(0.25)), 4);
    assert.deepEqual(b.shape, [1, 2, 12, 20]);
    assert.ok(b.data.every((v) => Math.abs(v - 0.25) < 1e-7));
    const m = matlabImresize(float32Tensor([3, 23, 31], new Float32Array(3 * 23 * 31).fill(0.5)), 1 / 4);
    assert.deepEqual(m.shape, [3, 6, 8]);
    assert.ok(m.data.every((v) => Math.abs(v - 0.5) < 1e-6));
    const u = matlabImresize(m, 4);
    assert.deepEqual(u.shape, [3, 24, 32]);
    assert.ok(u.data.every((v) => Math.abs(v - 0.5) < 1e-6));
  });
});

describe('layout', () => {
  const img = rgbImage(5, 3, Uint8Array.from({ length: 45 }, (_, i) => i));
  test('modCrop, crop and padBottomRight', () => {
    const m = modCrop(img, 4);
    assert.deepEqual([m.width, m.height], [4, 0]);
    const c = crop(img, 1, 1, 2, 2);
    assert.deepEqual(Array.from(c.data), [18, 19, 20, 21, 22, 23, 33, 34, 35, 36, 37, 38]);
    const p = padBottomRight(c, 3, 4);
    assert.deepEqual([p.width, p.height], [4, 3]);
    assert.deepEqual(Array.from(p.data.subarray(0, 12)), [18, 19, 20, 21, 22, 23, 0, 0, 0, 0, 0, 0]);
    assert.ok(p.data.subarray(24).every((v) => v === 0));
    assert.throws(() => crop(img, 4, 0, 2, 1), /not inside/);
  });

  test('toNCHW / fromNCHW round trip and tensor2img rounding', () => {
    const t = toNCHW(img);
    assert.deepEqual(t.shape, [1, 3, 3, 5]);
    assert.equal(t.data[1], Math.fround(3 / 255));
    assert.deepEqual(fromNCHW(t).data, img.data);
    assert.equal(roundHalfEven(0.5), 0);
    assert.equal(roundHalfEven(1.5), 2);
    assert.equal(roundHalfEven(2.5), 2);
    assert.equal(roundHalfEven(-0.5), -0);
    // Planar input: R = [1.5, <0], G = [>1, NaN], B = [2.5, 127.5] levels; halves go to even, NaN to 0.
    const out = fromNCHW(float32Tensor([1, 3, 1, 2], Float32Array.of(1.5 / 255, -1, 2, NaN, 2.5 / 255, 0.5)));
    assert.deepEqual(Array.from(out.data), [2, 255, 2, 0, 0, 128]);
  });
});
