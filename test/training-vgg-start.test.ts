// The ImageNet-VGG start of refsr's own models and the restoration stage's real pair sources: the Caffe input
// convention folded into conv1_1 computes the same features as the unfolded network; the VGG-initialised extractor
// and encoder from the shared VGG19 file; a widened warm start computes exactly the old network; multi-view scene and
// paired-folder samples; the data mix and best-model options of a config; a restoration run on all three sources
// that keeps its best validation model and writes its training curve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { dataDir, dataSkip, repoRoot } from './support/shared.ts';
import { tempDir } from './support/temp.ts';
import { OnnxOps } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import { vgg19Features, VGG_WIDTHS } from '../src/models/vgg-features.ts';
import { foldCaffeInput, imagenetVgg, scaledEncoder, vggInitialisedExtractor } from '../src/models/vgg-init.ts';
import { vggExtractor } from '../src/training/extractor-source.ts';
import { widenedConv, warmStartWeight } from '../src/training/warm-start.ts';
import { loadPairedFolders, loadScenes, multiviewSample, pairedSample } from '../src/training/data/pair-sources.ts';
import { DEFAULT_REFERENCE_PAIRS } from '../src/training/data/reference-pairs.ts';
import { parseTrainConfig, readTrainConfig } from '../src/training/config.ts';
import { readSafetensors, toFloat32, writeSafetensors } from '../src/weights/safetensors.ts';
import { frozenStart } from '../src/training/stages/restoration-stage.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { Rng } from '../src/random/rng.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';
import { bundledModels, resolveImageModel, resolveModel } from '../src/pipeline/model-registry.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';

const dir = tempDir('refsr-vggstart-');
const rand = (rng: Rng, shape: number[], scale = 1): Float32Tensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()) });

/** A random VGG trunk of the given widths under plain conv names (as the MatConvNet export names them). */
function randomVgg(seed: number, [c1, c2, c3]: readonly number[]): Map<string, Float32Tensor> {
  const rng = new Rng(seed);
  const shapes: Record<string, number[]> = { conv1_1: [c1!, 3], conv1_2: [c1!, c1!], conv2_1: [c2!, c1!], conv2_2: [c2!, c2!], conv3_1: [c3!, c2!] };
  const out = new Map<string, Float32Tensor>();
  for (const [n, [o, i]] of Object.entries(shapes)) {
    out.set(`${n}.weight`, rand(rng, [o!, i!, 3, 3], Math.sqrt(2 / (9 * i!)) / (n === 'conv1_1' ? 60 : 1)));
    out.set(`${n}.bias`, rand(rng, [o!], 0.1));
  }
  return out;
}

async function vggOutputs(weights: Map<string, Float32Tensor>, norm: 'caffe' | 'imagenet', img: Float32Tensor, widths: readonly [number, number, number]) {
  const ops = new OnnxOps(WeightMap.fromTensors(weights).lookup);
  const v = vgg19Features(ops, 'vgg.', ops.input('img', img.shape), norm, widths);
  ops.output(v.relu1_1, 'relu1_1');
  ops.output(v.relu2_1, 'relu2_1');
  ops.output(v.relu3_1, 'relu3_1');
  const g = await OrtGraph.create(ops.encode(), { threads: 1 });
  try {
    return await g.run({ img });
  } finally {
    await g.release();
  }
}

/** Largest |a - b| over the interior (a `margin`-cell border left out) relative to the largest |a|. */
function interiorRelError(a: Float32Tensor, b: Float32Tensor, margin: number): number {
  const [, c, h, w] = a.shape as [number, number, number, number];
  let err = 0;
  let peak = 0;
  for (let ch = 0; ch < c; ch++) for (let y = margin; y < h - margin; y++) for (let x = margin; x < w - margin; x++) {
    const i = (ch * h + y) * w + x;
    err = Math.max(err, Math.abs(a.data[i]! - b.data[i]!));
    peak = Math.max(peak, Math.abs(a.data[i]!));
  }
  return err / peak;
}

test('Caffe input folded into conv1_1: the ImageNet-input network gives the Caffe network\'s features away from the border', async () => {
  const widths = [8, 8, 16] as const;
  const caffe = new Map([...randomVgg(3, widths)].map(([k, v]) => [`vgg.${k}`, v]));
  const folded = imagenetVgg(randomVgg(3, widths), 'caffe');
  const rng = new Rng(4);
  const img: Float32Tensor = { shape: [1, 3, 32, 32], data: Float32Array.from({ length: 3 * 32 * 32 }, () => rng.uniform()) };
  const a = await vggOutputs(caffe, 'caffe', img, widths);
  const b = await vggOutputs(folded, 'imagenet', img, widths);
  assert.ok(interiorRelError(a.relu1_1!, b.relu1_1!, 1) < 1e-5, `relu1_1 interior differs by ${interiorRelError(a.relu1_1!, b.relu1_1!, 1)}`);
  assert.ok(interiorRelError(a.relu3_1!, b.relu3_1!, 3) < 1e-4, `relu3_1 interior differs by ${interiorRelError(a.relu3_1!, b.relu3_1!, 3)}`);
  // The fold really changes the weights (a no-op fold would fail the comparison above, unless the input were mean-free).
  assert.notDeepEqual(folded.get('vgg.conv1_1.weight')!.data, caffe.get('vgg.conv1_1.weight')!.data);
  // foldCaffeInput on one output channel, by hand: W' = 255 sigma W, b' = b + sum (255 mu - m) W.
  const w: Float32Tensor = { shape: [1, 3, 1, 1], data: Float32Array.of(1, 2, 3) };
  const f = foldCaffeInput(w, { shape: [1], data: Float32Array.of(0.5) });
  assert.deepEqual([...f.weight.data].map((v) => +v.toFixed(3)), [+(255 * 0.229).toFixed(3), +(2 * 255 * 0.224).toFixed(3), +(3 * 255 * 0.225).toFixed(3)]);
  const shift = (255 * 0.485 - 123.68) + 2 * (255 * 0.456 - 116.779) + 3 * (255 * 0.406 - 103.939);
  assert.ok(Math.abs(f.bias.data[0]! - (0.5 + shift)) < 1e-4);
});

test('scaled encoder: relu1_1 / relu2_1 / relu3_1 come out multiplied by their scales, exactly', async () => {
  const widths = [8, 8, 16] as const;
  const vgg = imagenetVgg(randomVgg(8, widths), 'imagenet');
  const scaled = scaledEncoder(vgg, [0.5, 0.02, 4]);
  const rng = new Rng(9);
  const img: Float32Tensor = { shape: [1, 3, 24, 24], data: Float32Array.from({ length: 3 * 24 * 24 }, () => rng.uniform()) };
  const a = await vggOutputs(vgg, 'imagenet', img, widths);
  const b = await vggOutputs(scaled, 'imagenet', img, widths);
  for (const [tap, s] of [['relu1_1', 0.5], ['relu2_1', 0.02], ['relu3_1', 4]] as const) {
    const want: Float32Tensor = { shape: a[tap]!.shape, data: a[tap]!.data.map((v) => v * s) };
    assert.ok(interiorRelError(want, b[tap]!, 0) < 1e-5, `${tap} scaled by ${s}`);
  }
  assert.throws(() => parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors, encoder_scale: [1, 2] }\n', 'm.yaml'), /init\.encoder_scale must be three positive numbers/);
});

test('VGG-initialised extractor: both branches and the encoder equal the folded VGG, ImageNet buffers', () => {
  const t = vggInitialisedExtractor(imagenetVgg(randomVgg(5, VGG_WIDTHS), 'caffe'));
  for (const n of ['conv1_1', 'conv2_2', 'conv3_1']) {
    const v = t.get(`vgg.${n}.weight`)!;
    assert.equal(t.get(`feature_extraction_image1.model.${n}.weight`), v);
    assert.equal(t.get(`feature_extraction_image2.model.${n}.weight`), v);
  }
  assert.deepEqual([...t.get('feature_extraction_image1.mean')!.data].map((x) => +x.toFixed(3)), [0.485, 0.456, 0.406]);
  assert.deepEqual([...t.get('feature_extraction_image2.std')!.data].map((x) => +x.toFixed(3)), [0.229, 0.224, 0.225]);
  assert.throws(() => imagenetVgg(new Map([['conv1_1.weight', rand(new Rng(1), [64, 3, 3, 3])]]), 'caffe'), /lack conv1_1\.bias/);
});

test('vgg19:PATH extractor from the shared ImageNet VGG19 file', { skip: dataSkip }, async () => {
  const path = join(dataDir, 'vgg19-conv3_1', 'vgg19_relu3_1_oihw.json');
  const w = await vggExtractor(path);
  assert.deepEqual(w.get('vgg.conv3_1.weight')!.shape, [256, 128, 3, 3]);
  assert.deepEqual(w.get('feature_extraction_image2.model.conv2_1.weight')!.data, w.get('vgg.conv2_1.weight')!.data);
  const cfg = parseTrainConfig(`stage: restoration\ndata: { train: [x] }\ninit: { extractor: 'vgg19:${path}' }\n`, join(dir, 'v.yaml'));
  assert.equal(cfg.init.extractor, `vgg19:${path}`);
  const rel = parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: "vgg19:w/vgg.json" }\n', join(dir, 'v.yaml'));
  assert.equal(rel.init.extractor, `vgg19:${join(dir, 'w', 'vgg.json')}`, 'the path after vgg19: is relative to the config');
});

const f32 = (m: Map<string, Float32Tensor>) => new Map([...m].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));

test('init.encoder: a trained extractor matches while the (scaled) VGG19 trunk encodes the reference', async () => {
  const vggPath = join(dir, 'enc-vgg.safetensors');
  await writeSafetensors(vggPath, f32(randomVgg(21, VGG_WIDTHS)));
  const ext = new Map<string, Float32Tensor>();
  const rng = new Rng(22);
  for (const [k, t] of vggInitialisedExtractor(imagenetVgg(randomVgg(23, VGG_WIDTHS), 'imagenet'))) {
    if (k.startsWith('feature_extraction_image')) ext.set(k, k.endsWith('.weight') ? rand(rng, [...t.shape], 0.1) : t);
  }
  const extPath = join(dir, 'student.safetensors');
  await writeSafetensors(extPath, f32(ext));
  const cfg = parseTrainConfig(`stage: restoration\ndata: { train: [x] }\ninit: { extractor: student.safetensors, encoder: 'vgg19:enc-vgg.safetensors', encoder_scale: [0.5, 0.25, 0.125] }\n`, join(dir, 'e.yaml'));
  assert.equal(cfg.init.encoder, `vgg19:${join(dir, 'enc-vgg.safetensors')}`);
  const frozen = await frozenStart(cfg);
  const want = await vggExtractor(vggPath, [0.5, 0.25, 0.125]);
  for (const k of frozen.keys()) {
    const expected = k.startsWith('vgg.') ? want.get(k) : ext.get(k);
    assert.ok(expected, `${k} has a source`);
    assert.deepEqual([...frozen.get(k)!.data], [...expected.data], k);
  }
  assert.ok([...frozen.keys()].some((k) => k.startsWith('vgg.')) && [...frozen.keys()].some((k) => k.startsWith('feature_extraction_image1')));
  assert.throws(() => parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors, encoder: e.safetensors }\n', 'm.yaml'), /init\.encoder must be vgg19:PATH/);
});

test('widened warm start: x\'s weights kept, new input channels zero, so the old conv\'s output is unchanged', () => {
  const rng = new Rng(6);
  const old = rand(rng, [4, 3, 3, 3]);
  const w = widenedConv(old, [4, 7, 3, 3], 3)!;
  // A 1x1-position "conv": sum over input channels and taps of w * input, with arbitrary new-channel inputs.
  const input = Float32Array.from({ length: 7 * 9 }, () => rng.normal());
  for (let o = 0; o < 4; o++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < 7 * 9; i++) b += w.data[o * 63 + i]! * input[i]!;
    for (let i = 0; i < 3 * 9; i++) a += old.data[o * 27 + i]! * input[i]!;
    assert.ok(Math.abs(a - b) < 1e-5);
  }
  assert.equal(widenedConv(old, [5, 7, 3, 3], 3), undefined, 'output channels must agree');
  const from = WeightMap.fromTensors({ 'h.weight': old, 'o.weight': old, 'same.weight': old });
  const ws = { widen: { 'h.weight': 3 }, reseed: ['o.'] };
  assert.deepEqual(warmStartWeight(from, ws, 'h.weight', [4, 7, 3, 3])!.shape, [4, 7, 3, 3]);
  assert.equal(warmStartWeight(from, ws, 'o.weight', [4, 3, 3, 3]), undefined, 'reseeded');
  assert.equal(warmStartWeight(from, ws, 'same.weight', [4, 3, 3, 3]), old);
  assert.equal(warmStartWeight(from, ws, 'same.weight', [4, 9, 3, 3]), undefined, 'another shape, not widened: seeded');
});

/** A smooth random texture photo. */
async function photo(path: string, w: number, h: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const f = [rng.uniform() * 0.2, rng.uniform() * 0.2, rng.uniform() * 6];
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(128 + 80 * Math.sin(f[0]! * x + f[1]! * y * (1 + c * 0.2) + f[2]!) + 8 * rng.normal())));
  }
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
}

async function makeData(): Promise<{ scenes: string; paired: string; photos: string }> {
  const scenes = join(dir, 'scenes');
  let seed = 10;
  for (const s of ['alpha', 'beta', 'gamma']) {
    mkdirSync(join(scenes, s), { recursive: true });
    for (let i = 0; i < 2; i++) await photo(join(scenes, s, `${i}.png`), 240, 180, seed++);
  }
  const paired = join(dir, 'paired');
  for (const sub of ['input', 'ref']) mkdirSync(join(paired, sub), { recursive: true });
  for (let i = 0; i < 2; i++) {
    await photo(join(paired, 'input', `p${i}.png`), 64, 64, seed++);
    await photo(join(paired, 'ref', `p${i}.png`), 56, 72, seed++);
  }
  const photos = join(dir, 'photos');
  mkdirSync(photos, { recursive: true });
  for (let i = 0; i < 4; i++) await photo(join(photos, `q${i}.png`), 96, 96, seed++);
  return { scenes, paired, photos };
}

const data = makeData();

test('multi-view scenes and paired folders: sample shapes, held-out scene, unrelated references, clear errors', async () => {
  const d = await data;
  const o = { ...DEFAULT_REFERENCE_PAIRS, lrPatch: 8, refSize: 48 };
  const { train, val } = await loadScenes(d.scenes, ['beta'], o.refSize);
  assert.deepEqual(train.map((s) => s.name), ['alpha', 'gamma']);
  assert.deepEqual(val.map((s) => s.name), ['beta']);
  assert.deepEqual(train[0]!.photos[0]!.map((p) => [p.width, p.height]), [[240, 180], [240, 180], [240, 180]], 'photos smaller than a size stay as they are');
  const rng = new Rng(1);
  const s = multiviewSample(train, rng, o);
  assert.deepEqual([s.gt.width, s.lr.width, s.up.width, s.ref.width, s.ref.height], [32, 8, 32, 48, 48]);
  await assert.rejects(loadScenes(d.scenes, ['delta'], 48), /held-out scene "delta" is not a folder .*alpha, beta, gamma/);
  const pairs = await loadPairedFolders([d.paired]);
  assert.deepEqual(pairs.map((p) => p.name), ['p0.png', 'p1.png']);
  const p = pairedSample(pairs, new Rng(2), o);
  assert.deepEqual([p.gt.width, p.ref.width, p.ref.height], [32, 48, 48]);
  // The 56x72 reference is cropped to 48 rows... and its 48 columns fit: no zero padding needed here; a 64x64 input
  // reference of a larger size would be cropped, a smaller one padded (windowAt).
  await assert.rejects(loadPairedFolders([d.scenes]), /has no input\/ folder/);
  // With unrelated = 1, a multi-view reference never comes from the ground truth's own scene: compare to both photos.
  const never = multiviewSample(train, new Rng(3), { ...o, unrelated: 1 });
  assert.equal(never.ref.width, 48);
});

test('config: data mix normalised and checked, best_metric, older configs keep their fingerprint', async () => {
  const base = 'stage: restoration\ninit: { extractor: e.safetensors }\n';
  const c = parseTrainConfig(`${base}data: { train: [x], multiview: mv, paired: [p], mix: { synthetic: 2, multiview: 1, paired: 1 } }\nbest_metric: gain_db\n`, join(dir, 'c.yaml'));
  assert.deepEqual(c.data.mix, { synthetic: 0.5, multiview: 0.25, paired: 0.25 });
  assert.equal(c.data.multiview, join(dir, 'mv'));
  assert.equal(c.bestMetric, 'gain_db');
  assert.throws(() => parseTrainConfig(`${base}data: { train: [x], mix: { multiview: 1 } }\n`, 'm.yaml'), /m\.yaml: data\.mix\.multiview > 0 needs data\.multiview/);
  assert.throws(() => parseTrainConfig(`${base}data: { train: [x], mix: { synthetic: 0 } }\n`, 'm.yaml'), /data\.mix must give some source a positive fraction/);
  assert.throws(() => parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors, widen: { h: -1 } }\n', 'm.yaml'), /init\.widen\.h must be a channel count/);
  // A config without the new keys carries none of them, so its fingerprint (and so its run folder) is unchanged.
  const old = await readTrainConfig(join(repoRoot, 'configs', 'cpu-restoration.yaml'));
  for (const k of ['multiview', 'multiviewVal', 'paired', 'mix']) assert.ok(!(k in old.data), `data.${k} absent`);
  for (const k of ['widen', 'reseed']) assert.ok(!(k in old.init), `init.${k} absent`);
  assert.ok(!('bestMetric' in old));
});

test('train restoration on synthetic, multi-view and paired data keeps the best validation model', async () => {
  const d = await data;
  const yaml = join(dir, 'mix.yaml');
  writeFileSync(yaml, `stage: restoration
seed: 2
steps: 2
batch: 2
lr: 1.0e-3
checkpoint_every: 1
validate_every: 1
best_metric: gain_db
init: { std: he, zero: [dyn_agg_restore.tail_large.2.weight], extractor: 'seeded:1' }
model: { ngf: 8, content_blocks: 1, small_blocks: 1, medium_blocks: 1, large_blocks: 1, small_aggregation: false, groups: 4, trunk_widths: [8, 8, 16] }
data:
  train: [${d.photos}]
  hold_out_every: 4
  val_samples: 2
  multiview: ${d.scenes}
  multiview_val: [beta]
  paired: [${d.paired}]
  mix: { synthetic: 1, multiview: 1, paired: 1 }
  pairs: { lr_patch: 8, ref_size: 48, unrelated: 0.2 }
`);
  const run = join(dir, 'run-mix');
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'refsr.js'), 'train', 'restoration', '-c', yaml, '-o', run, '-q'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const vals = lines.filter((l) => l.validation);
  assert.equal(vals.length, 2);
  for (const v of vals) for (const k of ['gain_db', 'shuffled_gain_db', 'ref_gain_db', 'syn_gain_db', 'mv_gain_db', 'mv_ref_gain_db']) assert.ok(Number.isFinite(v.validation[k]), `${k} in ${JSON.stringify(v)}`);
  assert.equal(vals[0].validation.samples, 4, 'two synthetic and two held-out multi-view pairs');
  assert.equal(vals[0].best, 'gain_db', 'the first validation is the best so far');
  const bestStep = vals.reduce((b: { step: number; validation: { gain_db: number } }, v: { step: number; validation: { gain_db: number } }) => (v.validation.gain_db > b.validation.gain_db ? v : b)).step;
  assert.ok(existsSync(join(run, 'best.safetensors')));
  const best = JSON.parse((await readSafetensors(join(run, 'best.safetensors'))).metadata['refsr.provenance']!);
  assert.equal(best.steps, bestStep, 'best.safetensors holds the weights of the best validation');
  // The training curve: one JSONL line per validation and a chart.
  const curve = readFileSync(join(run, 'curve.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(curve.map((c) => c.step), [1, 2]);
  assert.equal(curve[1].gain_db, vals[1].validation.gain_db);
  const png = await sharp(join(run, 'curve.png')).stats();
  assert.ok(png.channels.some((c) => c.min < 100), 'the chart draws something on its white background');
  const again = spawnSync(process.execPath, [join(repoRoot, 'bin', 'refsr.js'), 'curve', run], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim().split('\n').length, 2);
  const none = spawnSync(process.execPath, [join(repoRoot, 'bin', 'refsr.js'), 'curve', dir], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no log\.jsonl \(not a training run folder\)/);
});

test('a restoration run warm-started from a bundle keeps its VGG19 credit and, with its extractor, its unrelated-reference threshold', async () => {
  const d = await data;
  // The starting bundle: the mix run's best model, given the metadata a shipped model carries.
  const start = await readSafetensors(join(dir, 'run-mix', 'best.safetensors'));
  const credit = 'ImageNet VGG19 conv1_1..conv3_1 (test), CC BY 4.0';
  const fromFile = join(dir, 'start.safetensors');
  const tensors = new Map([...start.tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: toFloat32(t, k).data }]));
  await writeSafetensors(fromFile, tensors, { ...start.metadata, 'refsr.unrelated_score': '0.37', 'refsr.provenance': JSON.stringify({ derivedFrom: credit }) });
  const run = async (extractor: string, name: string) => {
    const yaml = join(dir, `${name}.yaml`);
    writeFileSync(yaml, `stage: restoration
seed: 3
steps: 1
batch: 1
lr: 1.0e-4
checkpoint_every: 1
init: { std: he, from: ${fromFile}, extractor: '${extractor}' }
model: { ngf: 8, content_blocks: 1, small_blocks: 1, medium_blocks: 1, large_blocks: 1, small_aggregation: false, groups: 4, trunk_widths: [8, 8, 16] }
data: { train: [${d.photos}], pairs: { lr_patch: 8, ref_size: 48 } }
`);
    const out = join(dir, name);
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'refsr.js'), 'train', 'restoration', '-c', yaml, '-o', out, '-q'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    return (await readSafetensors(join(out, 'model.safetensors'))).metadata;
  };
  const same = await run(fromFile, 'warm-same');
  assert.equal(JSON.parse(same['refsr.provenance']!).derivedFrom, credit);
  assert.equal(same['refsr.unrelated_score'], '0.37', 'same matcher as the starting model: same threshold');
  const other = await run('seeded:1', 'warm-other');
  assert.equal(JSON.parse(other['refsr.provenance']!).derivedFrom, credit);
  assert.equal(other['refsr.unrelated_score'], undefined, 'another matcher: the threshold is not carried over');
});

test('the first bundled model stays reachable by name (--model v1)', () => {
  assert.ok(bundledModels().includes('v1') && bundledModels().includes('default'));
  assert.equal(resolveModel('v1'), join(repoRoot, 'models', 'v1.safetensors'));
  assert.throws(() => resolveModel('v9'), /unknown model "v9"; bundled models: default, multi-reference, v1/);
});

test('upscale picks the bundled multi-reference model for several references, the default for one, and never overrides --model', async () => {
  const models = join(repoRoot, 'models');
  assert.equal(resolveImageModel(undefined, 1), join(models, 'default.safetensors'));
  assert.equal(resolveImageModel(undefined, 3), join(models, 'multi-reference.safetensors'));
  assert.equal(resolveImageModel('v1', 3), join(models, 'v1.safetensors'));
  assert.equal(resolveImageModel('default', 2), join(models, 'default.safetensors'));
  // It is an MRefSR bundle with the default model's structure, frozen extractor and encoder, and threshold.
  const [multi, single] = await Promise.all([RefSRModel.load(join(models, 'multi-reference.safetensors')), RefSRModel.load(join(models, 'default.safetensors'))]);
  try {
    assert.deepEqual(multi.info.mref, { ngf: 32, blocks: 8, groups: 4, refWidths: { relu1_1: 64, relu2_1: 128, relu3_1: 256 }, levelBlocks: { content: 8, small: 4, medium: 1, large: 1 }, smallAggregation: false });
    assert.equal(multi.info.unrelatedScore, single.info.unrelatedScore);
    for (const k of single.weights.keys().filter((k) => k.startsWith('feature_extraction_image') || k.startsWith('vgg.'))) {
      assert.deepEqual(multi.weights.get(k)!.data, single.weights.get(k)!.data, k);
    }
    assert.match(multi.weights.metadata['refsr.provenance']!, /CC BY 4\.0/);
  } finally {
    await Promise.all([multi.release(), single.release()]);
  }
});
