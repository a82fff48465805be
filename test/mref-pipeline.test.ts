// Upscaling with a multi-reference (MRefSR) model: every reference matched on its own grid (any sizes), progress per
// reference, restoration fused by the network's attention, whole or in tiles; the result does not depend on the
// reference order; a single-reference model still packs several references into a canvas and says so; the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { refsr } from './support/cli.ts';
import { tempDir } from './support/temp.ts';
import { repoRoot } from './support/shared.ts';
import { Rng } from '../src/random/rng.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { writeImage } from '../src/image/encode.ts';
import { initWeights } from '../src/models/init-weights.ts';
import { mrefParamSpec } from '../src/models/mref-spec.ts';
import { assembleMRefBundle } from '../src/models/import-mref.ts';
import { describeBundle } from '../src/models/model-bundle.ts';
import { contrasBranch } from '../src/models/contras-extractor.ts';
import { vgg19Features } from '../src/models/vgg-features.ts';
import type { MRefConfig } from '../src/models/mref-arch.ts';
import { OnnxOps } from '../src/graph/onnx-ops.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { writeSafetensors, type TensorToWrite } from '../src/weights/safetensors.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { upscale } from '../src/pipeline/upscale.ts';
import { superResolveMulti } from '../src/pipeline/multi-reference.ts';
import { superResolve } from '../src/pipeline/super-resolve.ts';

const CFG: MRefConfig = { ngf: 8, blocks: 1, groups: 4, refWidths: { relu1_1: 8, relu2_1: 12, relu3_1: 16 } };

/** A smooth random photo-like image (bicubic upsampling of random pixels). */
function smoothImage(rng: Rng, w: number, h: number): RgbImage {
  const small = rgbImage(Math.ceil(w / 4), Math.ceil(h / 4));
  for (let i = 0; i < small.data.length; i++) small.data[i] = Math.floor(rng.uniform() * 256);
  return pilResizeBicubic(small, w, h);
}

let dir = '';
let bundlePath = '';
let model: RefSRModel;
const rng = new Rng(31);
const lr = smoothImage(rng, 24, 20);
const refA = smoothImage(rng, 72, 60);
const refB = smoothImage(rng, 52, 92);

before(async () => {
  dir = tempDir('refsr-mref-pipeline-');
  const front = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => { front.set(name, [...shape]); return { shape, data: new Float32Array(0) }; });
  const img = ops.input('img', [1, 3, 16, 16]);
  const widths = [8, 12, 16] as const;
  contrasBranch(ops, 1, img, widths);
  contrasBranch(ops, 2, img, widths);
  vgg19Features(ops, 'vgg.', img, 'imagenet', widths);
  const all = new Map([...initWeights(mrefParamSpec(CFG), { seed: 4, std: 0.1, offsetStd: 0.01 }), ...initWeights(front, { seed: 5, std: 0.1 })]);
  const restoration = new Map([...all].filter(([k]) => !k.startsWith('vgg.') && !k.startsWith('feature_extraction')));
  const m = assembleMRefBundle({
    restoration, extractor: new Map([...all].filter(([k]) => k.startsWith('feature_extraction'))), vgg: new Map([...all].filter(([k]) => k.startsWith('vgg.'))),
    vggInput: 'imagenet', provenance: 'test',
  });
  bundlePath = join(dir, 'mref.safetensors');
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of m.tensors) out.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(bundlePath, out, m.metadata);
  model = await RefSRModel.load(bundlePath, { threads: 1 });
});

after(async () => { await model?.release(); });

test('a converted MRefSR bundle loads as a multi-reference model', () => {
  assert.equal(model.info.variant, 'mref');
  assert.deepEqual(model.info.mref, CFG);
  assert.throws(() => describeBundle(WeightMap.fromTensors(new Map(), { 'refsr.architecture': 'mrefsr', 'refsr.references': 'multi', 'refsr.mref_config': '{' }), 'x.safetensors'), /valid refsr\.mref_config/);
});

test('upscale with two references of different sizes: fused by attention, progress per reference, order-independent', async (t) => {
  const stages: string[] = [];
  const r = await upscale(model, lr, [{ image: refA, name: 'a.png' }, { image: refB, name: 'b.png' }], { onProgress: (s) => { if (!stages.includes(s)) stages.push(s); } });
  assert.equal(r.references, 'attention');
  assert.deepEqual([r.sr.width, r.sr.height], [96, 80]);
  assert.ok(r.notes.some((n) => /2 references fused by the multi-reference model's attention/.test(n)), r.notes.join('\n'));
  for (const s of ['features ref 1/2', 'matching ref 1/2', 'features ref 2/2', 'matching ref 2/2', 'restoration']) assert.ok(stages.includes(s), `no progress for "${s}" in ${stages.join(', ')}`);

  const up = pilResizeBicubic(lr, 96, 80);
  const ab = await superResolveMulti(model, lr, up, [refA, refB]);
  const ba = await superResolveMulti(model, lr, up, [refB, refA]);
  const a = await superResolveMulti(model, lr, up, [refA]);
  let orderDiff = 0;
  let oneRefDiff = 0;
  for (let i = 0; i < ab.sr.data.length; i++) {
    orderDiff = Math.max(orderDiff, Math.abs(ab.sr.data[i]! - ba.sr.data[i]!));
    oneRefDiff = Math.max(oneRefDiff, Math.abs(ab.sr.data[i]! - a.sr.data[i]!));
  }
  assert.ok(orderDiff <= 1e-5, `swapping the references changed the output by ${orderDiff}`);
  assert.ok(oneRefDiff > 1e-4, 'the second reference changed nothing');
  t.diagnostic(`swapped order: max |diff| ${orderDiff.toExponential(2)}; one reference instead of two: max |diff| ${oneRefDiff.toExponential(2)}`);
});

test('multi-reference restoration in tiles covers the image (tile 8, overlap 4)', async (t) => {
  const up = pilResizeBicubic(lr, 96, 80);
  const whole = await superResolveMulti(model, lr, up, [refA, refB]);
  const tiled = await superResolveMulti(model, lr, up, [refA, refB], { tile: 8, overlap: 4 });
  assert.deepEqual(tiled.sr.shape, whole.sr.shape);
  let maxDiff = 0;
  let mean = 0;
  for (let i = 0; i < whole.sr.data.length; i++) {
    const d = Math.abs(whole.sr.data[i]! - tiled.sr.data[i]!);
    maxDiff = Math.max(maxDiff, d);
    mean += d / whole.sr.data.length;
    assert.ok(Number.isFinite(tiled.sr.data[i]!));
  }
  // Tiles see less context than the whole image (the network's receptive field is wider than 4 LR px), so they
  // differ a little; a misplaced tile or reference window would differ by the signal itself (~0.5).
  assert.ok(mean < 0.02, `tiled vs whole: mean |diff| ${mean}, max ${maxDiff}`);
  t.diagnostic(`tiled vs whole: mean |diff| ${mean.toExponential(2)}, max ${maxDiff.toExponential(2)}`);
});

test('a single-reference model packs several references into a canvas and says so', async () => {
  const c2 = await RefSRModel.load(join(repoRoot, 'models', 'default.safetensors'), { threads: 1 });
  try {
    const r = await upscale(c2, lr, [{ image: refA, name: 'a.png' }, { image: refB, name: 'b.png' }]);
    assert.equal(r.references, 'canvas');
    assert.ok(r.notes.some((n) => /packed into one canvas/.test(n)), r.notes.join('\n'));
  } finally {
    await c2.release();
  }
});

test('CLI: refsr upscale LR --ref A --ref B with a multi-reference model says it fused them with attention', async () => {
  await writeImage(join(dir, 'lr.png'), lr);
  await writeImage(join(dir, 'a.png'), refA);
  await writeImage(join(dir, 'b.png'), refB);
  const out = join(dir, 'sr.png');
  const r = refsr(['upscale', join(dir, 'lr.png'), '--ref', join(dir, 'a.png'), '--ref', join(dir, 'b.png'), '--model', bundlePath, '-o', out, '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 references fused by the multi-reference model's attention/);
  const summary = JSON.parse(r.stdout) as { references: string; size: number[] };
  assert.equal(summary.references, 'attention');
  assert.deepEqual(summary.size, [96, 80]);
});

test('the single-reference chain (eval, robustness) runs a multi-reference model with t = 1', async () => {
  const up = pilResizeBicubic(lr, 96, 80);
  const one = await superResolve(model, lr, up, refA);
  const multi = await superResolveMulti(model, lr, up, [refA]);
  assert.deepEqual(one.sr.data, multi.sr.data);
  assert.equal(one.match.index.length, (lr.height - 2) * (lr.width - 2));
});
