import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GoldenCase } from '../src/golden/case-files.ts';
import { run } from '../src/golden/cases/metrics.ts';
import { measure, MetricSizeError, psnrRgb, rgbToY } from '../src/metrics/index.ts';
import { rgbImage } from '../src/image/rgb-image.ts';
import { goldenDir, goldenSkip } from './support/shared.ts';

describe('golden metrics', { skip: goldenSkip }, () => {
  test('Y channels and PSNR / PSNR-Y / SSIM-Y match', async () => {
    const results = await run(await GoldenCase.open(join(goldenDir, 'metrics')));
    for (const name of ['sr_y_', 'hr_y_', 'psnr_rgb_', 'psnr_y_', 'ssim_y_']) {
      assert.ok(results.some((r) => r.name.startsWith(name)), `no ${name} check`);
    }
    const failed = results.filter((r) => !r.pass).map((r) => `${r.name}: error ${r.error} > ${r.bound}`);
    assert.deepEqual(failed, []);
  });
});

function noise(w: number, h: number, seed: number) {
  const d = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < d.length; i++) { s = (s * 1103515245 + 12345) >>> 0; d[i] = s >>> 24; }
  return rgbImage(w, h, d);
}

describe('metrics (properties)', () => {
  test('identical images: PSNR Infinity, SSIM 1', () => {
    const a = noise(31, 23, 1);
    const m = measure(a, rgbImage(a.width, a.height, a.data.slice()));
    assert.equal(m.psnrRgb, Infinity);
    assert.equal(m.psnrY, Infinity);
    assert.ok(Math.abs(m.ssimY - 1) < 1e-12);
  });

  test('different images give finite values; a uniform error of 1 level gives 48.13 dB', () => {
    const a = noise(24, 24, 2);
    const b = rgbImage(24, 24, a.data.map((v) => (v === 255 ? 254 : v + 1)));
    const m = measure(a, noise(24, 24, 3));
    assert.ok(Number.isFinite(m.psnrRgb) && m.ssimY < 0.5);
    assert.ok(Math.abs(psnrRgb(a, b) - 20 * Math.log10(255)) < 1e-9);
  });

  test('Y of white and black', () => {
    const y = rgbToY(rgbImage(2, 1, Uint8Array.of(255, 255, 255, 0, 0, 0)));
    assert.ok(Math.abs(y[0]! - 235 / 255) < 1e-6);
    assert.ok(Math.abs(y[1]! - 16 / 255) < 1e-6);
  });

  test('size mismatch is a clear error', () => {
    assert.throws(() => measure(noise(20, 20, 1), noise(20, 24, 1)), (e: unknown) => e instanceof MetricSizeError && /20x20.*20x24/.test(e.message));
  });
});
