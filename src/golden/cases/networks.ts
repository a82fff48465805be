// Owns the golden checks of the networks run on ONNX Runtime: `contras` (ContrasExtractorSep, also with real VGG
// weights), `vgg` (VGG19 relu1_1/2_1/3_1), `dcn` (one dynamic aggregation module) and `restoration`.

import { join, dirname } from 'node:path';
import { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { OnnxOps, type Sym } from '../../graph/onnx-ops.ts';
import { OrtGraph } from '../../graph/ort-session.ts';
import { readSafetensors } from '../../weights/safetensors.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { contrasBranch } from '../../models/contras-extractor.ts';
import { vgg19Features } from '../../models/vgg-features.ts';
import { dynamicAggregation } from '../../models/dyn-agg.ts';
import { conv } from '../../models/layers.ts';
import { restorationNet, RESTORATION_VARIANTS } from '../../models/restoration-net.ts';
import { toDcnLayout } from '../../matching/pre-offset.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

async function weightsAt(path: string): Promise<WeightMap> {
  const f = await readSafetensors(path);
  return new WeightMap(f.tensors, f.metadata);
}

async function runGraph(weights: WeightMap, inputs: Record<string, Float32Tensor>, build: (ops: OnnxOps, ins: Record<string, Sym>) => Record<string, Sym>): Promise<Record<string, Float32Tensor>> {
  const ops = new OnnxOps(weights.lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
  for (const [k, v] of Object.entries(build(ops, syms))) ops.output(v, k);
  const graph = await OrtGraph.create(ops.encode());
  try {
    return await graph.run(inputs);
  } finally {
    await graph.release();
  }
}

async function compare(c: GoldenCase, ours: Record<string, Float32Tensor>, map: Record<string, string>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [ourName, goldenName] of Object.entries(map)) {
    const g = await c.f32(goldenName);
    results.push(checkTensor(c.name, goldenName, ours[ourName]!.data, g.data, c.entry(goldenName).tolerance));
  }
  return results;
}

export async function runContras(c: GoldenCase): Promise<CheckResult[]> {
  const inputs = { img_in_up: await c.f32('img_in_up'), img_ref: await c.f32('img_ref') };
  const build = (ops: OnnxOps, s: Record<string, Sym>) => ({ f1: contrasBranch(ops, 1, s.img_in_up!), f2: contrasBranch(ops, 2, s.img_ref!) });
  const results = await compare(c, await runGraph(await weightsAt(join(c.dir, 'weights.safetensors')), inputs, build), { f1: 'dense_features1', f2: 'dense_features2' });
  if (c.has('vgg_dense_features1')) {
    // Both branches loaded from the real VGG19 weights (vgg case), with the ImageNet buffers.
    const vgg = await weightsAt(join(dirname(c.dir), 'vgg', 'vgg_weights.safetensors'));
    const mapped = new Map<string, Float32Tensor>();
    for (const b of [1, 2]) {
      for (const k of vgg.keys()) mapped.set(`feature_extraction_image${b}.model.${k}`, vgg.get(k)!);
      mapped.set(`feature_extraction_image${b}.mean`, { shape: [1, 3, 1, 1], data: Float32Array.of(0.485, 0.456, 0.406) });
      mapped.set(`feature_extraction_image${b}.std`, { shape: [1, 3, 1, 1], data: Float32Array.of(0.229, 0.224, 0.225) });
    }
    results.push(...(await compare(c, await runGraph(WeightMap.fromTensors(mapped), inputs, build), { f1: 'vgg_dense_features1', f2: 'vgg_dense_features2' })));
  }
  return results;
}

export async function runVgg(c: GoldenCase): Promise<CheckResult[]> {
  const out = await runGraph(await weightsAt(join(c.dir, 'vgg_weights.safetensors')), { img: await c.f32('img') }, (ops, s) => {
    const t = vgg19Features(ops, '', s.img!, 'imagenet');
    return { relu1_1: t.relu1_1, relu2_1: t.relu2_1, relu3_1: t.relu3_1 };
  });
  return compare(c, out, { relu1_1: 'relu1_1', relu2_1: 'relu2_1', relu3_1: 'relu3_1' });
}

export async function runDcn(c: GoldenCase): Promise<CheckResult[]> {
  const x = await c.f32('x');
  const channels = x.shape[1]!;
  const inputs = { x, offset_feat: await c.f32('offset_feat'), pre: toDcnLayout(await c.f32('pre_offset')) };
  const weights = await weightsAt(join(c.dir, 'weights.safetensors'));
  const results: CheckResult[] = [];
  for (const lowering of ['gridsample', 'deformconv'] as const) {
    const ops = new OnnxOps(weights.lookup, { deformConv: lowering });
    const s = { x: ops.input('x', x.shape), f: ops.input('offset_feat', inputs.offset_feat.shape), pre: ops.input('pre', inputs.pre.shape) };
    ops.output(conv(ops, 'conv_offset_mask', s.f, channels, 216), 'om');
    ops.output(dynamicAggregation(ops, "", s.x, s.f, s.pre, channels), 'out');
    const graph = await OrtGraph.create(ops.encode());
    const out = await graph.run(inputs);
    await graph.release();
    for (const r of await compare(c, out, { om: 'conv_offset_mask_out', out: 'out' })) {
      results.push(r.name === 'out' ? { ...r, name: `out (${lowering})` } : r);
    }
  }
  return dedupe(results);
}

function dedupe(rs: CheckResult[]): CheckResult[] {
  const seen = new Set<string>();
  return rs.filter((r) => (seen.has(r.name) ? false : (seen.add(r.name), true)));
}

export async function runRestoration(c: GoldenCase): Promise<CheckResult[]> {
  const root = dirname(c.dir);
  const [v, m] = await Promise.all([GoldenCase.open(join(root, 'vgg')), GoldenCase.open(join(root, 'matching'))]);
  const inputs: Record<string, Float32Tensor> = { lr: await c.f32('x') };
  for (const level of ['relu1_1', 'relu2_1', 'relu3_1']) {
    inputs[`ref_${level}`] = await v.f32(level);
    inputs[`pre_${level}`] = toDcnLayout(await m.f32(`pre_offset_${level}`));
  }
  const out = await runGraph(await weightsAt(join(c.dir, 'weights.safetensors')), inputs, (ops, s) => {
    const level = (n: string) => ({ ref: s[`ref_${n}`]!, refLocal: s[`ref_${n}`]!, preOffset: s[`pre_${n}`]! });
    const r = restorationNet(ops, { lr: s.lr!, relu3_1: level('relu3_1'), relu2_1: level('relu2_1'), relu1_1: level('relu1_1') }, RESTORATION_VARIANTS.full);
    return { out: r.out, restore: r.restore, small: r.smallDynAggOut! };
  });
  return compare(c, out, { out: 'out', restore: 'restore', small: 'small_dyn_agg_out' });
}
