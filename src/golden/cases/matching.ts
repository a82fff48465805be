// Owns the golden `matching` check: exact correspondence indices, scores, margins, flow and pre-offsets on the
// contras features, and the padded variant (reference larger than the input) through the test protocol.

import { dirname, join } from 'node:path';
import { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { matchExact, matchRows } from '../../matching/correspondence.ts';
import { flowFromIndex, preOffsetOfficial, type MatchIndex } from '../../matching/pre-offset.ts';
import { fromHWC, toNCHW } from '../../image/layout.ts';
import { prepareProtocol } from '../../pipeline/protocol.ts';
import { goldenBundle } from './pipeline.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

/** A near tie (golden margin < 1e-5) where our index differs is not a failure (README "Near ties"). */
const NEAR_TIE = 1e-5;

async function checkMatch(c: GoldenCase, prefix: string, m: MatchIndex, scales: number[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const gIdx = await c.ints(`${prefix}max_idx`);
  const gMargin = (await c.f32(`${prefix}margin`)).data;
  const pw = m.w - 2;
  const tie = (p: number) => gMargin[p]! < NEAR_TIE && m.index[p] !== gIdx[p];
  results.push(checkTensor(c.name, `${prefix}max_idx`, m.index, gIdx, c.entry(`${prefix}max_idx`).tolerance, tie));
  results.push(checkTensor(c.name, `${prefix}max_val`, m.score!, (await c.f32(`${prefix}max_val`)).data, c.entry(`${prefix}max_val`).tolerance, tie));
  if (m.margin) results.push(checkTensor(c.name, `${prefix}margin`, m.margin, gMargin, c.entry(`${prefix}margin`).tolerance, tie));
  const flow = flowFromIndex(m);
  const tieAt = (y: number, x: number) => y >= 0 && x >= 0 && y < m.h - 2 && x < pw && tie(y * pw + x);
  results.push(checkTensor(c.name, `${prefix}flow`, flow.data, (await c.f32(`${prefix}flow`)).data, c.entry(`${prefix}flow`).tolerance, (i) => tieAt(Math.floor(i / 2 / m.w), Math.floor(i / 2) % m.w)));
  for (const s of scales) {
    const name = `${prefix}pre_offset_relu${s === 1 ? 3 : s === 2 ? 2 : 1}_1`;
    if (!c.has(name)) continue;
    const ours = preOffsetOfficial(flow, s);
    const H = m.h * s;
    const W = m.w * s;
    const ignore = (i: number) => {
      const e = Math.floor(i / 2);
      const k = Math.floor(e / (H * W));
      const y = Math.floor((e % (H * W)) / W) - Math.floor(k / 3) * s;
      const x = (e % W) - (k % 3) * s;
      return y >= 0 && x >= 0 && tieAt(Math.floor(y / s), Math.floor(x / s));
    };
    results.push(checkTensor(c.name, name, ours.data, (await c.f32(name)).data, c.entry(name).tolerance, ignore));
  }
  return results;
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const root = dirname(c.dir);
  const contras = await GoldenCase.open(join(root, 'contras'));
  const f1 = await contras.f32('dense_features1');
  const f2 = await contras.f32('dense_features2');
  // The production path (row decomposition) gives indices, scores, flow and pre-offsets; the direct block path
  // gives the margins (it can report the runner-up) and its indices must agree too.
  const direct = await matchExact(f1, f2, { withMargin: true });
  const m = { ...(await matchRows(f1, f2)), margin: direct.margin };
  const results = await checkMatch(c, '', m, [1, 2, 4]);
  const gIdx = await c.ints('max_idx');
  const gMargin = (await c.f32('margin')).data;
  results.push(checkTensor(c.name, 'max_idx (direct path)', direct.index, gIdx, c.entry('max_idx').tolerance, (p) => gMargin[p]! < NEAR_TIE && direct.index[p] !== gIdx[p]));
  if (c.has('padded_raw_in')) results.push(...(await runPadded(c, root)));
  return results;
}

async function runPadded(c: GoldenCase, root: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const rawIn = await c.u8('padded_raw_in');
  const rawRef = await c.u8('padded_raw_ref');
  const p = prepareProtocol(fromHWC(rawIn.shape, rawIn.data), fromHWC(rawRef.shape, rawRef.data));
  for (const [name, img] of [['padded_img_in_lq', p.lr], ['padded_img_in_up', p.up], ['padded_img_ref', p.ref]] as const) {
    results.push(checkTensor(c.name, name, img.data, (await c.u8(name)).data, c.entry(name).tolerance));
  }
  // The padded features come from the extractor loaded with the real VGG weights in both branches.
  const model = await goldenBundle(root);
  const vggModel = await withVggExtractor(model);
  let f1: Float32Tensor;
  let f2: Float32Tensor;
  try {
    f1 = await vggModel.inputFeatures(toNCHW(p.up));
    f2 = (await vggModel.referenceFeatures(toNCHW(p.ref))).contras;
  } finally {
    await vggModel.release();
    await model.release();
  }
  results.push(checkTensor(c.name, 'padded_dense_features1', f1.data, (await c.f32('padded_dense_features1')).data, c.entry('padded_dense_features1').tolerance));
  results.push(checkTensor(c.name, 'padded_dense_features2', f2.data, (await c.f32('padded_dense_features2')).data, c.entry('padded_dense_features2').tolerance));
  // Match on the golden features so index checks are not blurred by feature float noise.
  const p1 = await c.f32('padded_dense_features1');
  const p2 = await c.f32('padded_dense_features2');
  const direct = await matchExact(p1, p2, { withMargin: true });
  results.push(...(await checkMatch(c, 'padded_', { ...(await matchRows(p1, p2)), margin: direct.margin }, [1])));
  return results;
}

async function withVggExtractor(model: Awaited<ReturnType<typeof goldenBundle>>) {
  const { RefSRModel } = await import('../../pipeline/refsr-model.ts');
  const { WeightMap } = await import('../../weights/weight-map.ts');
  const { VGG_PREFIX } = await import('../../models/model-bundle.ts');
  const mapped = new Map<string, Float32Tensor>();
  for (const k of model.weights.keys()) mapped.set(k, model.weights.get(k)!);
  for (const b of [1, 2]) {
    for (const k of model.weights.keys()) {
      if (k.startsWith(VGG_PREFIX)) mapped.set(`feature_extraction_image${b}.model.${k.slice(VGG_PREFIX.length)}`, model.weights.get(k)!);
    }
  }
  return new RefSRModel(WeightMap.fromTensors(mapped, model.weights.metadata), model.info, 'golden-vgg-extractor');
}
