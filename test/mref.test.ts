// The multi-reference network (MRefSR MRAPARestorationNet, src/models/mref-arch.ts): the golden `mref` case of
// ../shared/golden-next through the same runner as `npm run golden`, the same case through the tfjs interpreter,
// independence of the reference order and count, and tfjs/ONNX parity on sizes that exercise every reflect padding.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sharedDir, prerequisite } from './support/shared.ts';
import { randomTensor } from './support/random.ts';
import { runGoldenCase, casePassed } from '../src/golden/run-golden.ts';
import { GoldenCase } from '../src/golden/case-files.ts';
import { checkTensor } from '../src/golden/tolerance.ts';
import { mrefGoldenInputs, mrefReferences } from '../src/golden/cases/mref.ts';
import { OnnxOps, type Sym, type WeightLookup } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { TfjsOps, fromNCHW, toNCHW, inScope } from '../src/training/tfjs-ops.ts';
import { ParamStore } from '../src/training/param-store.ts';
import { Rng } from '../src/random/rng.ts';
import { mrefRestorationNet, MREF_LEVELS, type MRefConfig } from '../src/models/mref-arch.ts';
import { RESTORATION_VARIANTS } from '../src/models/restoration-net.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { tileInputs } from '../src/pipeline/restore-tiled.ts';
import { matchRows } from '../src/matching/correspondence.ts';
import { flowFromIndex } from '../src/matching/pre-offset.ts';
import { readWeightFile } from '../src/weights/read-weight-file.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

const mrefDir = join(sharedDir, 'golden-next', 'mref');
const mrefSkip = prerequisite(existsSync(join(mrefDir, 'case.json')), `golden case mref not found at ${mrefDir}; multi-reference golden tests skipped`);

/** The network on ONNX Runtime over named inputs, references taken in `order`. */
async function runOnnx(lookup: WeightLookup, cfg: MRefConfig, inputs: Record<string, Float32Tensor>, order: readonly number[]): Promise<Record<string, Float32Tensor>> {
  const ops = new OnnxOps(lookup);
  const used = Object.fromEntries(Object.entries(inputs).filter(([k]) => k === 'x' || order.some((i) => k.endsWith(`_${i}`))));
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(used)) syms[k] = ops.input(k, v.shape);
  const r = mrefRestorationNet(ops, { lr: syms.x!, refs: mrefReferences(syms, order) }, cfg);
  ops.output(r.out, 'out');
  ops.output(r.restore, 'restore');
  const graph = await OrtGraph.create(ops.encode(), { threads: 1 });
  try {
    return await graph.run(used);
  } finally {
    await graph.release();
  }
}

function maxAbsDiff(a: Float32Tensor, b: Float32Tensor): number {
  assert.deepEqual([...a.shape], [...b.shape]);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

describe('golden mref (MRefSR multi-reference restoration)', { skip: mrefSkip }, () => {
  test('every intermediate and the output within tolerance (npm run golden runner)', async (t) => {
    const r = await runGoldenCase(mrefDir);
    const failures = r.checks.filter((c) => !c.pass).map((c) => `${c.name}: error ${c.error} > ${c.bound} ${c.detail ?? ''}`);
    assert.ok(casePassed(r), `golden mref failed:\n${r.error ?? ''}\n${failures.join('\n')}`);
    assert.ok(r.checks.length >= 20, `only ${r.checks.length} checks`);
    for (const c of r.checks) t.diagnostic(`${c.name}: ${c.error.toExponential(2)} <= ${c.bound}`);
  });

  test('the reference order does not change the output; one reference alone runs', async () => {
    const { weights, cfg, t, inputs } = await mrefGoldenInputs(await GoldenCase.open(mrefDir));
    assert.equal(t, 3);
    const forward = await runOnnx(weights.lookup, cfg, inputs, [0, 1, 2]);
    const reversed = await runOnnx(weights.lookup, cfg, inputs, [2, 0, 1]);
    assert.ok(maxAbsDiff(forward.out!, reversed.out!) <= 1e-5, `order changed out by ${maxAbsDiff(forward.out!, reversed.out!)}`);
    const single = await runOnnx(weights.lookup, cfg, inputs, [2]);
    assert.deepEqual(single.out!.shape, [1, 3, 36, 52]);
    assert.ok(maxAbsDiff(single.out!, forward.out!) > 1e-3, 'one reference gave the same output as three');
  });

  test('through the tfjs interpreter (training) within tolerance', async (t) => {
    await initTfjs();
    const c = await GoldenCase.open(mrefDir);
    const { weights, cfg, t: refs, inputs } = await mrefGoldenInputs(c);
    const store = new ParamStore({ source: weights.lookup, trainable: false });
    const ops = new TfjsOps(store);
    const out = inScope(() => {
      const values: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) values[k] = fromNCHW(v);
      const r = mrefRestorationNet(ops, { lr: values.x!, refs: mrefReferences(values, Array.from({ length: refs }, (_, i) => i)) }, cfg);
      return { out: toNCHW(r.out), restore: toNCHW(r.restore) };
    });
    store.dispose();
    for (const name of ['restore', 'out'] as const) {
      const g = await c.f32(name);
      const r = checkTensor(c.name, name, out[name].data, g.data, c.entry(name).tolerance);
      assert.ok(r.pass, `${name}: error ${r.error} > ${r.bound}`);
      t.diagnostic(`${name}: error ${r.error.toExponential(2)} (bound ${r.bound})`);
    }
  });
});

// The chain `upscale` runs for a multi-reference model, from the stored images: the input's contrastive features
// once, then per reference its own features, matching (refsr's exact matcher) and pre-offsets (the window the tiles
// take), then the network. The official matching used the real VGG19 conv1_1..conv3_1 in both extractor branches
// and the reference VGG19 (golden `vgg` weights, beside this folder); the network takes the first C channels.
const vggWeights = join(sharedDir, 'golden', 'vgg', 'vgg_weights.safetensors');
const chainSkip = mrefSkip || prerequisite(existsSync(vggWeights), `VGG19 golden weights not found at ${vggWeights}; mref chain from images skipped`);

test('golden mref from its images: per-reference matching gives the official pre-offsets exactly, and the chain the output', { skip: chainSkip }, async (t) => {
  const c = await GoldenCase.open(mrefDir);
  const vgg = await readWeightFile(vggWeights);
  const mapped = new Map<string, Float32Tensor>();
  for (const k of vgg.keys()) {
    mapped.set(`vgg.${k}`, vgg.get(k)!);
    for (const b of [1, 2]) mapped.set(`feature_extraction_image${b}.model.${k}`, vgg.get(k)!);
  }
  for (const b of [1, 2]) {
    mapped.set(`feature_extraction_image${b}.mean`, { shape: [1, 3, 1, 1], data: Float32Array.of(0.485, 0.456, 0.406) });
    mapped.set(`feature_extraction_image${b}.std`, { shape: [1, 3, 1, 1], data: Float32Array.of(0.229, 0.224, 0.225) });
  }
  const front = new RefSRModel(WeightMap.fromTensors(mapped), { variant: 'full', restoration: RESTORATION_VARIANTS.full, vggInput: 'imagenet', matchReference: 'sharp' }, 'golden vgg', { threads: 1 });
  const { weights, cfg, t: refs, inputs } = await mrefGoldenInputs(c);
  const ours: Record<string, Float32Tensor> = { x: inputs.x! };
  try {
    const inFeat = await front.inputFeatures(await c.f32('img_in_up'));
    const images = await c.f32('img_refs');
    const [, , , H, W] = images.shape as number[];
    for (let r = 0; r < refs; r++) {
      const feat = await front.referenceFeatures({ shape: [1, 3, H!, W!], data: images.data.subarray(r * 3 * H! * W!, (r + 1) * 3 * H! * W!) });
      const flow = flowFromIndex(await matchRows(inFeat, feat.contras, { threads: 1 }));
      const tile = tileInputs(inputs.x!, feat, flow, 0, 0, inputs.x!.shape[2]!, inputs.x!.shape[3]!);
      for (const { key } of MREF_LEVELS) {
        const pre = tile.levels[key].preOffset;
        assert.deepEqual(pre.data, inputs[`pre_${key}_${r}`]!.data, `reference ${r} ${key}: pre-offsets differ from the official matching`);
        const full = tile.levels[key].ref;
        const ch = cfg.refWidths[key];
        ours[`ref_${key}_${r}`] = { shape: [1, ch, full.shape[2]!, full.shape[3]!], data: full.data.subarray(0, ch * full.shape[2]! * full.shape[3]!) };
        ours[`pre_${key}_${r}`] = pre;
      }
    }
  } finally {
    await front.release();
  }
  const order = Array.from({ length: refs }, (_, i) => i);
  const out = await runOnnx(weights.lookup, cfg, ours, order);
  const r = checkTensor(c.name, 'out', out.out!.data, (await c.f32('out')).data, c.entry('out').tolerance);
  assert.ok(r.pass, `out from the images: error ${r.error} > ${r.bound}`);
  t.diagnostic(`out from the images: error ${r.error.toExponential(2)} (bound ${r.bound})`);
});

describe('mref network: tfjs and ONNX agree on every reflect padding, with gradients through the attention', () => {
  before(async () => { await initTfjs(); });

  test('LR 5x7 (pads 3/1, then 2/2, then 0/0), t = 2', async (t) => {
    const cfg: MRefConfig = { ngf: 8, blocks: 1, groups: 2, refWidths: { relu1_1: 4, relu2_1: 6, relu3_1: 8 } };
    const rng = new Rng(21);
    const [h, w] = [5, 7];
    const inputs: Record<string, Float32Tensor> = { x: randomTensor(rng, [1, 3, h, w], { scale: 0.2, offset: 0.5 }) };
    for (let r = 0; r < 2; r++) {
      for (const [key, s] of [['relu3_1', 1], ['relu2_1', 2], ['relu1_1', 4]] as const) {
        const c = cfg.refWidths[key];
        inputs[`ref_${key}_${r}`] = randomTensor(rng, [1, c, h * s, w * s], { scale: 0.5, offset: 0.3 });
        inputs[`pre_${key}_${r}`] = randomTensor(rng, [1, 18, h * s, w * s], { scale: s });
      }
    }
    const store = new ParamStore({ init: { seed: 21, std: 0.1, offsetStd: 0.05, biasStd: 0.05 } });
    const ops = new TfjsOps(store);
    const { out, gradNorm } = inScope(() => {
      const values: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) values[k] = fromNCHW(v);
      const f = () => mrefRestorationNet(ops, { lr: values.x!, refs: mrefReferences(values, [0, 1]) }, cfg).out;
      const result = toNCHW(f());
      const v = store.vars.get('dyn_agg_restore.head_small.conv_emb2.0.weight')!;
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(f())) as tf.Scalar, [v]);
      return { out: result, gradNorm: tf.norm(grads[v.name]!).dataSync()[0]! };
    });
    const onnx = await runOnnx(store.lookup, cfg, inputs, [0, 1]);
    store.dispose();
    const d = maxAbsDiff(out, onnx.out!);
    const scale = Math.max(...onnx.out!.data.map(Math.abs));
    assert.ok(d <= 1e-4 * scale, `tfjs vs ONNX: ${d} (max |out| ${scale})`);
    assert.ok(gradNorm > 0 && Number.isFinite(gradNorm), `no gradient reaches the attention embedding (${gradNorm})`);
    t.diagnostic(`max abs diff ${d.toExponential(2)} (max |out| ${scale.toPrecision(3)}), |d loss / d conv_emb2| ${gradNorm.toExponential(2)}`);
  });
});
