// Owns the golden `resize` case: Pillow bicubic /4 and x4 (exact), the torch bilinear x4 base, and the MATLAB-style
// imresize, for every `hr_<i>` listed in case.json (counts and sizes come from the case, never from this file).

import type { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { bilinearUpsample } from '../../image/bilinear.ts';
import { matlabImresize } from '../../image/matlab-imresize.ts';
import { fromHWC, toNCHW } from '../../image/layout.ts';
import { float32Tensor } from '../../tensor/host-tensor.ts';
import type { RgbImage } from '../../image/rgb-image.ts';

async function image(c: GoldenCase, name: string): Promise<RgbImage> {
  const t = await c.u8(name);
  return fromHWC(t.shape, t.data);
}

function indexOf(name: string): string {
  return name.slice(name.lastIndexOf('_') + 1);
}

async function checkPil(c: GoldenCase, i: string, hr: RgbImage, out: CheckResult[]): Promise<void> {
  const lrName = `lr_${i}`;
  if (c.has(lrName)) {
    const lr = pilResizeBicubic(hr, Math.floor(hr.width / 4), Math.floor(hr.height / 4));
    out.push(checkTensor(c.name, lrName, lr.data, (await c.u8(lrName)).data, c.entry(lrName).tolerance));
  }
  const upName = `up_${i}`;
  if (c.has(upName) && c.has(lrName)) {
    // Upsample the golden LR, so an LR mismatch is not reported twice.
    const up = pilResizeBicubic(await image(c, lrName), hr.width, hr.height);
    out.push(checkTensor(c.name, upName, up.data, (await c.u8(upName)).data, c.entry(upName).tolerance));
  }
}

async function checkMatlab(c: GoldenCase, i: string, hr: RgbImage, out: CheckResult[]): Promise<void> {
  const downName = `matlab_down_${i}`;
  if (!c.has(downName)) return;
  const plane = hr.width * hr.height;
  const chw = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) chw[ch * plane + p] = hr.data[p * 3 + ch]! / 255;
  const down = matlabImresize(float32Tensor([3, hr.height, hr.width], chw), 1 / 4);
  const goldenDown = await c.f32(downName);
  out.push(checkTensor(c.name, downName, down.data, goldenDown.data, c.entry(downName).tolerance));
  const upName = `matlab_up_${i}`;
  if (c.has(upName)) {
    const up = matlabImresize(goldenDown, 4);
    out.push(checkTensor(c.name, upName, up.data, (await c.f32(upName)).data, c.entry(upName).tolerance));
  }
}

async function checkBilinear(c: GoldenCase, lrNames: string[], out: CheckResult[]): Promise<void> {
  if (!c.has('bilinear_in') || !c.has('bilinear_out')) return;
  const input = await c.f32('bilinear_in');
  // bilinear_in is an LR image as float (uint8/255): check our conversion against the LR of the same size.
  const candidates: CheckResult[] = [];
  for (const name of lrNames) {
    const lr = await image(c, name);
    if (lr.height !== input.shape[2] || lr.width !== input.shape[3]) continue;
    candidates.push(checkTensor(c.name, `bilinear_in (as ${name}/255)`, toNCHW(lr).data, input.data, c.entry('bilinear_in').tolerance));
  }
  const match = candidates.find((r) => r.pass) ?? candidates[0];
  if (match) out.push(match);
  const outShape = c.entry('bilinear_out').shape;
  const scale = outShape[2]! / input.shape[2]!;
  const ours = bilinearUpsample(input, scale);
  out.push(checkTensor(c.name, 'bilinear_out', ours.data, (await c.f32('bilinear_out')).data, c.entry('bilinear_out').tolerance));
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const hrName of c.names(/^hr_\d+$/)) {
    const i = indexOf(hrName);
    const hr = await image(c, hrName);
    await checkPil(c, i, hr, out);
    await checkMatlab(c, i, hr, out);
  }
  await checkBilinear(c, c.names(/^lr_\d+$/), out);
  return out;
}
