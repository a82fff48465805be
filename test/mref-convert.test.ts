// `refsr convert` on an MRefSR (multi-reference) restoration checkpoint: recognised by its keys, configuration read
// from the shapes, every key and shape checked (a missing key names its part and module, a wrong shape its key),
// every tensor copied bit for bit, metadata saying multi-reference; and the golden `mref` weights converted from
// BF16 safetensors reproduce the golden output through the bundle.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refsr } from './support/cli.ts';
import { tempDir } from './support/temp.ts';
import { statePth } from './support/pth-writer.ts';
import { sharedDir, prerequisite } from './support/shared.ts';
import { initWeights } from '../src/models/init-weights.ts';
import { mrefParamSpec } from '../src/models/mref-spec.ts';
import { mrefRestorationNet, MREF_OFFICIAL, type MRefConfig } from '../src/models/mref-arch.ts';
import { contrasBranch } from '../src/models/contras-extractor.ts';
import { vgg19Features } from '../src/models/vgg-features.ts';
import { OnnxOps, type Sym } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import { readSafetensors, toFloat32 } from '../src/weights/safetensors.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { GoldenCase } from '../src/golden/case-files.ts';
import { checkTensor } from '../src/golden/tolerance.ts';
import { mrefGoldenInputs, mrefReferences } from '../src/golden/cases/mref.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

const CFG: MRefConfig = { ngf: 16, blocks: 2, groups: 8, refWidths: { relu1_1: 24, relu2_1: 32, relu3_1: 48 } };

let dir = '';
let restoration: Map<string, Float32Tensor>;
let extractor: Map<string, Float32Tensor>;
let vgg: Map<string, Float32Tensor>;

/** Keys and shapes of the extractor (VGG widths) and of a reference VGG trunk at the network's reference widths. */
function frontSpec(): { extractor: Map<string, number[]>; vgg: Map<string, number[]> } {
  const specs = { extractor: new Map<string, number[]>(), vgg: new Map<string, number[]>() };
  let into = specs.extractor;
  const ops = new OnnxOps((name, shape) => { into.set(name, [...shape]); return { shape, data: new Float32Array(0) }; });
  const img = ops.input('img', [1, 3, 16, 16]);
  contrasBranch(ops, 1, img);
  contrasBranch(ops, 2, img);
  into = specs.vgg;
  vgg19Features(ops, 'vgg.', img, 'imagenet', [24, 32, 48]);
  return specs;
}

before(() => {
  dir = tempDir('refsr-mref-convert-');
  restoration = initWeights(mrefParamSpec(CFG), { seed: 7, std: 0.05, offsetStd: 0.01 });
  const front = frontSpec();
  extractor = initWeights(front.extractor, { seed: 8 });
  vgg = initWeights(front.vgg, { seed: 9 });
  writeFileSync(join(dir, 'net_g.pth'), statePth(new Map([...restoration].map(([k, t]) => [`module.${k}`, t])), { params: true }));
  writeFileSync(join(dir, 'extractor.pth'), statePth(extractor));
  writeFileSync(join(dir, 'vgg.safetensors.pth'), statePth(vgg));
});

function sameBits(a: Float32Tensor | undefined, b: Float32Tensor, what: string): void {
  assert.ok(a, `${what}: missing from the bundle`);
  assert.deepEqual([...a.shape], [...b.shape], `${what}: shape`);
  assert.ok(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), `${what}: values differ`);
}

test('the key list of an MRefSR restoration state_dict: 126 keys at n_blocks 2, as the golden mref weights (110 at 1, 350 at 16); the official size has 23,711,633 parameters', () => {
  assert.equal(mrefParamSpec(CFG).size, 126);
  // mrefsr-forward.md: 110 keys at n_blocks 1 and 350 at n_blocks 16 (4 keys per residual block, 4 bodies).
  assert.equal(mrefParamSpec({ ...CFG, blocks: 1 }).size, 110);
  assert.equal(mrefParamSpec({ ...CFG, blocks: 16 }).size, 350);
  // The official constructor (ngf 64, n_blocks 16, groups 8, widths 64/128/256): mrefsr-forward.md's 23.7 M.
  let params = 0;
  for (const s of mrefParamSpec(MREF_OFFICIAL).values()) params += s.reduce((a, b) => a * b, 1);
  assert.equal(params, 23_711_633);
});

test('convert: an MRefSR checkpoint is recognised by its keys and written as a multi-reference bundle', async () => {
  const out = join(dir, 'mref.safetensors');
  const r = refsr(['convert', join(dir, 'net_g.pth'), '--extractor', join(dir, 'extractor.pth'), '--vgg', join(dir, 'vgg.safetensors.pth'), '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /MRefSR multi-reference model \(ngf 16, n_blocks 2, groups 8, reference widths 24\/32\/48\)/);
  const f = await readSafetensors(out);
  assert.equal(f.metadata['refsr.architecture'], 'mrefsr');
  assert.equal(f.metadata['refsr.references'], 'multi');
  assert.deepEqual(JSON.parse(f.metadata['refsr.mref_config']!), CFG);
  const got = new Map([...f.tensors].map(([k, t]) => [k, toFloat32(t, k)]));
  for (const [k, t] of restoration) sameBits(got.get(k), t, k);
  for (const [k, t] of extractor) sameBits(got.get(k), t, k);
  for (const [k, t] of vgg) sameBits(got.get(k), t, k);
  assert.equal(got.size, restoration.size + extractor.size + vgg.size);
});

test('convert: a missing MRefSR key names the part and module, a wrong shape names the key; nothing is written', () => {
  const partial = new Map(restoration);
  partial.delete('dyn_agg_restore.head_medium.conv_ass.weight');
  partial.delete('dyn_agg_restore.head_medium.conv_emb2.1.weight');
  partial.set('dyn_agg_restore.large_offset_conv2.bias', { shape: [23], data: new Float32Array(23) });
  writeFileSync(join(dir, 'partial.pth'), statePth(partial));
  const out = join(dir, 'partial.safetensors');
  const r = refsr(['convert', join(dir, 'partial.pth'), '--extractor', join(dir, 'extractor.pth'), '--vgg', join(dir, 'vgg.safetensors.pth'), '-o', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /MRefSR \(multi-reference\)/);
  assert.match(r.stderr, /missing 2 keys: 2 of the restoration network \(head_medium\)/);
  assert.match(r.stderr, /wrong shape dyn_agg_restore\.large_offset_conv2\.bias: \[23\], expected \[24\]/);
  assert.ok(!existsSync(out));

  const noVgg = refsr(['convert', join(dir, 'net_g.pth'), '--extractor', join(dir, 'extractor.pth'), '-o', out]);
  assert.equal(noVgg.code, 1);
  assert.match(noVgg.stderr, /missing 10 keys: 10 of the VGG19 \(--vgg\)/);
  assert.ok(!existsSync(out));
});

const mrefDir = join(sharedDir, 'golden-next', 'mref');
const mrefSkip = prerequisite(existsSync(join(mrefDir, 'case.json')), `golden case mref not found at ${mrefDir}; converting its weights skipped`);

test('convert: the golden mref weights (BF16 safetensors) through a bundle reproduce the golden output', { skip: mrefSkip }, async () => {
  const out = join(dir, 'golden-mref.safetensors');
  const r = refsr(['convert', join(mrefDir, 'weights.safetensors'), '--extractor', join(dir, 'extractor.pth'), '--vgg', join(dir, 'vgg.safetensors.pth'), '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const f = await readSafetensors(out);
  const bundle = new WeightMap(f.tensors, f.metadata);
  const cfg = JSON.parse(f.metadata['refsr.mref_config']!) as MRefConfig;
  const c = await GoldenCase.open(mrefDir);
  const { t, inputs } = await mrefGoldenInputs(c);
  const ops = new OnnxOps(bundle.lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
  ops.output(mrefRestorationNet(ops, { lr: syms.x!, refs: mrefReferences(syms, Array.from({ length: t }, (_, i) => i)) }, cfg).out, 'out');
  const graph = await OrtGraph.create(ops.encode(), { threads: 1 });
  const ours = await graph.run(inputs).finally(() => graph.release());
  const check = checkTensor('mref', 'out', ours.out!.data, (await c.f32('out')).data, c.entry('out').tolerance);
  assert.ok(check.pass, `out through the converted bundle: error ${check.error} > ${check.bound}`);
});
