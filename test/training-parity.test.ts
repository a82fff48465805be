// Parity of the two interpreters of the network definitions: eager tfjs (training) against the ONNX graph on ONNX
// Runtime (inference), on the same seeded weights and small inputs; plus the golden `dcn` case through tfjs.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { TfjsOps, fromNCHW, toNCHW, inScope } from '../src/training/tfjs-ops.ts';
import { ParamStore } from '../src/training/param-store.ts';
import { Rng } from '../src/random/rng.ts';
import { OnnxOps, type Sym } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import type { Ops } from '../src/graph/ops.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';
import { featureWindow } from '../src/tensor/feature-window.ts';
import { restorationNet, RESTORATION_VARIANTS, type RestorationConfig } from '../src/models/restoration-net.ts';
import { contrasBranch } from '../src/models/contras-extractor.ts';
import { vgg19Features } from '../src/models/vgg-features.ts';
import { dynamicAggregation } from '../src/models/dyn-agg.ts';
import { conv } from '../src/models/layers.ts';
import { GoldenCase } from '../src/golden/case-files.ts';
import { checkTensor } from '../src/golden/tolerance.ts';
import { readSafetensors } from '../src/weights/safetensors.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { toDcnLayout } from '../src/matching/pre-offset.ts';
import { goldenDir, goldenSkip } from './support/shared.ts';
import { randomTensor } from './support/random.ts';

type Build = <T>(ops: Ops<T>, ins: Record<string, T>) => Record<string, T>;

function uniformImage(rng: Rng, h: number, w: number): Float32Tensor {
  const data = new Float32Array(3 * h * w);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return { shape: [1, 3, h, w], data };
}

/** Runs `build` through tfjs (creating the seeded variables) and then through ONNX on the same values. */
async function bothWays(store: ParamStore, inputs: Record<string, Float32Tensor>, build: Build): Promise<{ tfjs: Record<string, Float32Tensor>; onnx: Record<string, Float32Tensor> }> {
  const ops = new TfjsOps(store);
  const tfjs = inScope(() => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ins[k] = fromNCHW(v);
    const outs = build(ops, ins);
    return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, toNCHW(v)]));
  });
  const onnxOps = new OnnxOps(store.lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = onnxOps.input(k, v.shape);
  for (const [k, v] of Object.entries(build(onnxOps, syms))) onnxOps.output(v, k);
  const graph = await OrtGraph.create(onnxOps.encode(), { threads: 1 });
  try {
    return { tfjs, onnx: await graph.run(inputs) };
  } finally {
    await graph.release();
  }
}

function relDiff(a: Float32Tensor, b: Float32Tensor): { maxAbs: number; maxRef: number } {
  assert.deepEqual([...a.shape], [...b.shape]);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.data.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a.data[i]! - b.data[i]!));
    maxRef = Math.max(maxRef, Math.abs(b.data[i]!));
  }
  return { maxAbs, maxRef };
}

function assertClose(name: string, a: Float32Tensor, b: Float32Tensor, rel = 1e-4): string {
  const { maxAbs, maxRef } = relDiff(a, b);
  assert.ok(maxRef > 0, `${name}: reference output is all zero`);
  assert.ok(maxAbs <= rel * maxRef, `${name}: max abs diff ${maxAbs} > ${rel} * ${maxRef}`);
  return `${name}: max abs diff ${maxAbs.toExponential(2)} (max |onnx| ${maxRef.toPrecision(3)})`;
}

describe('tfjs interpreter vs ONNX interpreter', () => {
  before(async () => { await initTfjs(); });

  const level = (ins: Record<string, unknown>, n: string) => ({ ref: ins[`ref_${n}`], refLocal: ins[`loc_${n}`], preOffset: ins[`pre_${n}`] });

  async function restorationParity(cfg: RestorationConfig, seed: number, std: number): Promise<string[]> {
    const rng = new Rng(seed);
    const [h, w] = [6, 8];
    const inputs: Record<string, Float32Tensor> = { lr: uniformImage(rng, h, w) };
    // Reference features of a different size than the input (5x7 at relu3_1), so the DCN samples another grid.
    const levels = [['relu3_1', 256, 1], ['relu2_1', 128, 2], ['relu1_1', 64, 4]] as const;
    for (const [name, c, s] of levels) {
      if (name === 'relu3_1' && !cfg.smallAggregation) continue;
      const ref = randomTensor(rng, [1, c, 5 * s, 7 * s], { scale: 0.5, offset: 0.3 });
      inputs[`ref_${name}`] = ref;
      inputs[`loc_${name}`] = featureWindow(ref, 0, 0, h * s, w * s);
      inputs[`pre_${name}`] = randomTensor(rng, [1, 18, h * s, w * s], { scale: 2 * s });
    }
    const store = new ParamStore({ init: { seed, std, offsetStd: 0.02, biasStd: 0.01 } });
    const build: Build = (ops, ins) => {
      const r = restorationNet(ops, {
        lr: ins.lr!,
        relu3_1: cfg.smallAggregation ? (level(ins, 'relu3_1') as never) : undefined,
        relu2_1: level(ins, 'relu2_1') as never,
        relu1_1: level(ins, 'relu1_1') as never,
      }, cfg);
      const outs: Record<string, typeof r.out> = { out: r.out, restore: r.restore };
      if (r.smallDynAggOut) outs.small = r.smallDynAggOut;
      return outs;
    };
    const { tfjs, onnx } = await bothWays(store, inputs, build);
    const notes = Object.keys(onnx).map((k) => assertClose(k, tfjs[k]!, onnx[k]!));
    // The learned offsets must actually move the samples (non-zero conv_offset_mask weights).
    const om = store.vars.get('dyn_agg_restore.medium_dyn_agg.conv_offset_mask.weight');
    assert.ok(om && tf.max(tf.abs(om)).dataSync()[0]! > 0);
    store.dispose();
    return notes;
  }

  test('restorationNet, tiny config (ngf 16, one block per stage, with relu3_1 aggregation)', async (t) => {
    for (const n of await restorationParity({ ngf: 16, contentBlocks: 1, smallBlocks: 1, mediumBlocks: 1, largeBlocks: 1, smallAggregation: true, groups: 8 }, 11, 0.05)) t.diagnostic(n);
  });

  test('restorationNet, light variant', async (t) => {
    for (const n of await restorationParity(RESTORATION_VARIANTS.light, 12, 0.02)) t.diagnostic(n);
  });

  test('contrasBranch and vgg19Features', async (t) => {
    const rng = new Rng(5);
    const inputs = { a: uniformImage(rng, 12, 20), b: uniformImage(rng, 16, 12) };
    const store = new ParamStore({ init: { seed: 5, std: 0.05, biasStd: 0.05 } });
    const { tfjs, onnx } = await bothWays(store, inputs, (ops, ins) => {
      const v = vgg19Features(ops, 'vgg.', ins.b!, 'imagenet');
      return { c1: contrasBranch(ops, 1, ins.a!), c2: contrasBranch(ops, 2, ins.b!), r11: v.relu1_1, r21: v.relu2_1, r31: v.relu3_1 };
    });
    for (const k of Object.keys(onnx)) t.diagnostic(assertClose(k, tfjs[k]!, onnx[k]!));
    store.dispose();
  });
});

describe('golden dcn through the tfjs interpreter', { skip: goldenSkip }, () => {
  before(async () => { await initTfjs(); });

  test('conv_offset_mask_out and out within tolerance', async (t) => {
    const c = await GoldenCase.open(join(goldenDir, 'dcn'));
    const f = await readSafetensors(join(c.dir, 'weights.safetensors'));
    const weights = new WeightMap(f.tensors, f.metadata);
    const x = await c.f32('x');
    const channels = x.shape[1]!;
    const store = new ParamStore({ source: weights.lookup, trainable: false });
    const ops = new TfjsOps(store);
    const offsetFeat = await c.f32('offset_feat');
    const preOffset = toDcnLayout(await c.f32('pre_offset'));
    const out = inScope(() => {
      const fx = fromNCHW(x);
      const feat = fromNCHW(offsetFeat);
      const pre = fromNCHW(preOffset);
      return { om: toNCHW(conv(ops, 'conv_offset_mask', feat, channels, 216)), out: toNCHW(dynamicAggregation(ops, '', fx, feat, pre, channels)) };
    });
    for (const [ours, golden] of [['om', 'conv_offset_mask_out'], ['out', 'out']] as const) {
      const g = await c.f32(golden);
      const r = checkTensor(c.name, golden, out[ours].data, g.data, c.entry(golden).tolerance);
      assert.ok(r.pass, `${golden}: error ${r.error} > ${r.bound}`);
      t.diagnostic(`${golden}: error ${r.error.toExponential(2)} (bound ${r.bound}, ${r.detail ?? c.entry(golden).tolerance.kind})`);
    }
    store.dispose();
  });
});
