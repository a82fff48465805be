// Owns the golden `pipeline` check: the official test procedure end to end on real pairs, with the contras, vgg
// and restoration golden weights bundled the refsr way.

import { dirname, join } from 'node:path';
import type { GoldenCase } from '../case-files.ts';
import { checkScalar, checkTensor, type CheckResult } from '../tolerance.ts';
import { readSafetensors } from '../../weights/safetensors.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { VGG_PREFIX, describeBundle } from '../../models/model-bundle.ts';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { runProtocol } from '../../pipeline/protocol.ts';
import type { SuperResolveOptions } from '../../pipeline/super-resolve.ts';
import { fromHWC } from '../../image/layout.ts';
import { measure } from '../../metrics/index.ts';
import type { StoredTensor } from '../../weights/safetensors.ts';

export async function goldenBundle(goldenRoot: string): Promise<RefSRModel> {
  const all = new Map<string, StoredTensor>();
  for (const [k, v] of (await readSafetensors(join(goldenRoot, 'contras', 'weights.safetensors'))).tensors) all.set(k, v);
  for (const [k, v] of (await readSafetensors(join(goldenRoot, 'restoration', 'weights.safetensors'))).tensors) all.set(k, v);
  for (const [k, v] of (await readSafetensors(join(goldenRoot, 'vgg', 'vgg_weights.safetensors'))).tensors) all.set(VGG_PREFIX + k, v);
  const weights = new WeightMap(all, { 'refsr.architecture': 'c2-matching', 'refsr.vgg_input': 'imagenet' });
  return new RefSRModel(weights, describeBundle(weights, 'golden'), 'golden');
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  return runPipeline(c);
}

/**
 * The pipeline checks with inference options that must not change the result beyond the case's tolerance (for
 * example small restoration tiles or small matching blocks); `matching` stays the protocol's exact search.
 */
export async function runPipeline(c: GoldenCase, opts: Omit<SuperResolveOptions, 'matching'> = {}): Promise<CheckResult[]> {
  const model = await goldenBundle(dirname(c.dir));
  const results: CheckResult[] = [];
  try {
    for (const hrName of c.names(/^p\d+_hr$/)) {
      const p = hrName.slice(0, -3);
      const hrT = await c.u8(hrName);
      const refT = await c.u8(`${p}_ref`);
      const r = await runProtocol(model, fromHWC(hrT.shape, hrT.data), fromHWC(refT.shape, refT.data), opts);
      const lr = await c.u8(`${p}_lr`);
      results.push(checkTensor(c.name, `${p}_lr`, r.inputs.lr.data, lr.data, c.entry(`${p}_lr`).tolerance));
      if (c.has(`${p}_sr_float`)) {
        const g = await c.f32(`${p}_sr_float`);
        results.push(checkTensor(c.name, `${p}_sr_float`, r.sr.data, g.data, c.entry(`${p}_sr_float`).tolerance));
      }
      const sr = await c.u8(`${p}_sr`);
      const srCheck = checkTensor(c.name, `${p}_sr`, r.srImage.data, sr.data, c.entry(`${p}_sr`).tolerance);
      results.push(srCheck);
      const identical = srCheck.error === 0;
      // Metric tolerance applies only to an identical SR; otherwise compare our metrics of our SR with the
      // metrics of the golden SR computed by the same (golden-checked) metric code.
      const ours = measure(r.srImage, r.inputs.gt);
      const ref = identical ? undefined : measure(fromHWC(sr.shape, sr.data), r.inputs.gt);
      for (const [key, val] of [['psnr_rgb', ours.psnrRgb], ['psnr_y', ours.psnrY], ['ssim_y', ours.ssimY]] as const) {
        const name = `${p}_${key}`;
        if (!c.json.scalars?.[name]) continue;
        const s = c.scalar(name);
        if (identical) results.push(checkScalar(c.name, name, val, s.value, s.tolerance));
        else {
          const goldenOwn = key === 'psnr_rgb' ? ref!.psnrRgb : key === 'psnr_y' ? ref!.psnrY : ref!.ssimY;
          results.push({ ...checkScalar(c.name, `${name} (golden SR re-measured)`, goldenOwn, s.value, s.tolerance), detail: `ours ${val.toFixed(4)} on our SR` });
        }
      }
    }
  } finally {
    await model.release();
  }
  return results;
}
