// Owns the golden `metrics` case: Y channel, PSNR, PSNR-Y and SSIM-Y for every `sr_<i>`/`hr_<i>` pair listed in
// case.json, each checked against its own tolerance.

import type { GoldenCase } from '../case-files.ts';
import { checkScalar, checkTensor, type CheckResult } from '../tolerance.ts';
import { fromHWC } from '../../image/layout.ts';
import { measure, rgbToY } from '../../metrics/index.ts';
import type { RgbImage } from '../../image/rgb-image.ts';

async function image(c: GoldenCase, name: string): Promise<RgbImage> {
  const t = await c.u8(name);
  return fromHWC(t.shape, t.data);
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const scalars = new Set(c.scalarNames(/./));
  for (const hrName of c.names(/^hr_\d+$/)) {
    const i = hrName.slice(3);
    if (!c.has(`sr_${i}`)) continue;
    const sr = await image(c, `sr_${i}`);
    const hr = await image(c, hrName);
    for (const [name, img] of [[`sr_y_${i}`, sr], [`hr_y_${i}`, hr]] as const) {
      if (c.has(name)) out.push(checkTensor(c.name, name, rgbToY(img), (await c.f32(name)).data, c.entry(name).tolerance));
    }
    const m = measure(sr, hr, 4);
    for (const [name, value] of [[`psnr_rgb_${i}`, m.psnrRgb], [`psnr_y_${i}`, m.psnrY], [`ssim_y_${i}`, m.ssimY]] as const) {
      if (!scalars.has(name)) continue;
      const s = c.scalar(name);
      out.push(checkScalar(c.name, name, value, s.value, s.tolerance));
    }
  }
  return out;
}
