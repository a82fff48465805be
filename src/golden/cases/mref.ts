// Owns the golden check of `mref` (../shared/golden-next, MRefSR MRAPARestorationNet with t references): the network
// of models/mref-arch.ts, configured from the case's weights, run on ONNX Runtime with the golden per-reference
// features and pre-offsets; every stored intermediate (per reference ones stacked over the references) and the
// output are compared.

import { join } from 'node:path';
import type { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { OnnxOps, type Sym } from '../../graph/onnx-ops.ts';
import { OrtGraph } from '../../graph/ort-session.ts';
import { readSafetensors } from '../../weights/safetensors.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { toDcnLayout } from '../../matching/pre-offset.ts';
import { MREF_LEVELS, mrefRestorationNet, type MRefConfig, type MRefLevelKey, type MRefReference } from '../../models/mref-arch.ts';
import { mrefConfigFromShapes } from '../../models/mref-spec.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

/** Item r of a tensor stacked over the references ([t, ...rest] -> [...rest]). */
function item(t: Float32Tensor, r: number): Float32Tensor {
  const rest = t.shape.slice(1);
  const n = rest.reduce((a, b) => a * b, 1);
  return { shape: rest, data: t.data.subarray(r * n, (r + 1) * n) };
}

export interface MRefGoldenInputs {
  readonly weights: WeightMap;
  readonly cfg: MRefConfig;
  /** Number of references. */
  readonly t: number;
  /** Graph inputs: `x`, and per reference r `ref_<key>_<r>` (features) and `pre_<key>_<r>` (DCN layout [1, 18, H, W]). */
  readonly inputs: Record<string, Float32Tensor>;
}

/** The case's weights, the network config read from them, and the forward inputs split per reference. */
export async function mrefGoldenInputs(c: GoldenCase): Promise<MRefGoldenInputs> {
  const f = await readSafetensors(join(c.dir, 'weights.safetensors'));
  const weights = new WeightMap(f.tensors, f.metadata);
  const cfg = mrefConfigFromShapes((k) => f.tensors.get(k)?.shape);
  const inputs: Record<string, Float32Tensor> = { x: await c.f32('x') };
  const stacked = new Map<string, Float32Tensor>();
  for (const { key } of MREF_LEVELS) {
    stacked.set(`ref_${key}`, await c.f32(`ref_feat_${key}`));
    stacked.set(`pre_${key}`, await c.f32(`pre_offset_${key}`));
  }
  const t = stacked.get('ref_relu3_1')!.shape[0]!;
  for (let r = 0; r < t; r++) {
    for (const { key } of MREF_LEVELS) {
      inputs[`ref_${key}_${r}`] = item(stacked.get(`ref_${key}`)!, r);
      inputs[`pre_${key}_${r}`] = toDcnLayout(item(stacked.get(`pre_${key}`)!, r));
    }
  }
  return { weights, cfg, t, inputs };
}

/** The network's per-reference inputs from values named as in `mrefGoldenInputs`, in the order `order`. */
export function mrefReferences<T>(values: Record<string, T>, order: readonly number[]): MRefReference<T>[] {
  return order.map((r) => {
    const level = (key: MRefLevelKey) => ({ ref: values[`ref_${key}_${r}`]!, refLocal: values[`ref_${key}_${r}`]!, preOffset: values[`pre_${key}_${r}`]! });
    return { relu3_1: level('relu3_1'), relu2_1: level('relu2_1'), relu1_1: level('relu1_1') };
  });
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const { weights, cfg, t, inputs } = await mrefGoldenInputs(c);
  const ops = new OnnxOps(weights.lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
  const refs = mrefReferences(syms, Array.from({ length: t }, (_, r) => r));
  const probed: string[] = [];
  const outName = (n: string) => n.replace('/', '__');
  const res = mrefRestorationNet(ops, { lr: syms.x!, refs }, cfg, (name, v) => {
    const base = name.split('/')[0]!;
    if (!c.has(base)) return;
    probed.push(name);
    ops.output(v, outName(name));
  });
  ops.output(res.out, 'out');
  ops.output(res.restore, 'restore');
  const graph = await OrtGraph.create(ops.encode());
  let ours: Record<string, Float32Tensor>;
  try {
    ours = await graph.run(inputs);
  } finally {
    await graph.release();
  }

  // Per-reference intermediates concatenated in reference order, as the golden stacks them.
  const results: CheckResult[] = [];
  const checkedNames = new Set<string>();
  for (const name of [...probed.map((n) => n.split('/')[0]!), 'restore', 'out']) {
    if (checkedNames.has(name)) continue;
    checkedNames.add(name);
    const parts = probed.includes(name) || name === 'restore' || name === 'out'
      ? [ours[outName(name)]!]
      : Array.from({ length: t }, (_, r) => ours[outName(`${name}/${r}`)]!);
    const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
    let o = 0;
    for (const p of parts) { data.set(p.data, o); o += p.data.length; }
    const g = await c.f32(name);
    results.push(checkTensor(c.name, name, data, g.data, c.entry(name).tolerance));
  }
  const notChecked = c.json.tensors.filter((e) => e.tolerance.kind !== 'exact' && !checkedNames.has(e.name)).map((e) => e.name);
  if (notChecked.length) throw new Error(`golden mref: tensors with a tolerance that nothing computed: ${notChecked.join(', ')}`);
  return results;
}
