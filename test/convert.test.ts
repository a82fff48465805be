// `refsr convert` on the formats users bring: a .pth restoration checkpoint in BasicSR's {'params': state_dict}
// layout with DataParallel `module.` prefixes, a .pth extractor, a torchvision-named VGG19 .pth (features.N.*, with
// the layers refsr does not use), and the MatConvNet relu3_1 JSON export. Every converted tensor must equal its
// source bit for bit under the official name; the light variant's parameter count is the paper's 4.8M.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refsr } from './support/cli.ts';
import { tempDir } from './support/temp.ts';
import { statePth } from './support/pth-writer.ts';
import { dataDir, goldenDir, prerequisite, hasGolden, repoRoot } from './support/shared.ts';
import { bundleSpec, parameterCount, VGG_PREFIX } from '../src/models/model-bundle.ts';
import { RESTORATION_VARIANTS } from '../src/models/restoration-net.ts';
import { initWeights } from '../src/models/init-weights.ts';
import { readSafetensors, toFloat32 } from '../src/weights/safetensors.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

const restorationOnly = (k: string) => !k.startsWith(VGG_PREFIX) && !k.startsWith('feature_extraction');

test('parameter counts: full 8,865,547 and light 4,825,395 (the paper\'s 8.9M and 4.8M)', () => {
  const full = bundleSpec(RESTORATION_VARIANTS.full);
  const light = bundleSpec(RESTORATION_VARIANTS.light);
  assert.equal(parameterCount(full, restorationOnly), 8_865_547);
  assert.equal(parameterCount(light, restorationOnly), 4_825_395);
  // The difference is exactly what the light variant removes: 8 of the 16 medium residual blocks, 12 of the 16 large
  // ones (each two 64->64 3x3 convs with bias: 73,856), the relu3_1 aggregation (small offset convs and DCN) and,
  // since the LR stage then sees only the content features, the 256 aggregated input channels of head_small's conv.
  const resBlock = 2 * (64 * 64 * 9 + 64);
  const aggregation = parameterCount(full, (k) => /^dyn_agg_restore\.(small_offset_conv\d|small_dyn_agg)\./.test(k));
  assert.equal(aggregation, 2_415_576);
  assert.deepEqual([full.get('dyn_agg_restore.head_small.0.weight'), light.get('dyn_agg_restore.head_small.0.weight')], [[64, 320, 3, 3], [64, 64, 3, 3]]);
  assert.equal(parameterCount(full, restorationOnly) - parameterCount(light, restorationOnly), 8 * resBlock + 12 * resBlock + aggregation + 256 * 64 * 9);
});

test('the v1 bundled model\'s parameter counts are the README\'s: restoration 475,851, extractor 2 x 35,152', async () => {
  const f = await readSafetensors(join(repoRoot, 'models', 'v1.safetensors'));
  const count = (keep: (k: string) => boolean) => [...f.tensors].filter(([k]) => keep(k)).reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(count(restorationOnly), 475_851);
  for (const b of [1, 2]) {
    // Widths 16/32/64: 34,992 weights + 160 biases per branch.
    assert.equal(count((k) => k.startsWith(`feature_extraction_image${b}.model.`) && k.endsWith('.weight')), 34_992);
    assert.equal(count((k) => k.startsWith(`feature_extraction_image${b}.model.`)), 35_152);
  }
});

let dir = '';
let restoration: Map<string, Float32Tensor>;
let extractor: Map<string, Float32Tensor>;
let vggTorchvision: Map<string, Float32Tensor>;

before(() => {
  dir = tempDir('refsr-convert-');
  const spec = bundleSpec(RESTORATION_VARIANTS.light);
  const all = initWeights(spec, { seed: 3, std: 0.02, offsetStd: 0.01 });
  restoration = new Map([...all].filter(([k]) => restorationOnly(k)));
  extractor = new Map([...all].filter(([k]) => k.startsWith('feature_extraction')));
  // torchvision vgg19: features.{0,2,5,7,10} are conv1_1..conv3_1; 12+ and the classifier are not used by refsr.
  vggTorchvision = new Map();
  const tv: Record<string, number> = { conv1_1: 0, conv1_2: 2, conv2_1: 5, conv2_2: 7, conv3_1: 10 };
  for (const [k, t] of all) {
    const m = /^vgg\.(conv\d_\d)\.(weight|bias)$/.exec(k);
    if (m) vggTorchvision.set(`features.${tv[m[1]!]}.${m[2]}`, t);
  }
  vggTorchvision.set('features.12.weight', { shape: [256, 256, 3, 3], data: new Float32Array(256 * 256 * 9).fill(0.5) });
  vggTorchvision.set('classifier.6.bias', { shape: [1000], data: new Float32Array(1000) });
  const withModule = new Map([...restoration].map(([k, t]) => [`module.${k}`, t]));
  writeFileSync(join(dir, 'net_g.pth'), statePth(withModule, { params: true }));
  writeFileSync(join(dir, 'extractor.pth'), statePth(extractor));
  writeFileSync(join(dir, 'vgg19.pth'), statePth(vggTorchvision));
});

async function converted(path: string): Promise<{ tensors: Map<string, Float32Tensor>; metadata: Record<string, string> }> {
  const f = await readSafetensors(path);
  return { tensors: new Map([...f.tensors].map(([k, t]) => [k, toFloat32(t, k)])), metadata: f.metadata };
}

function sameBits(a: Float32Tensor, b: Float32Tensor, what: string): void {
  assert.deepEqual([...a.shape], [...b.shape], `${what}: shape`);
  assert.ok(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), `${what}: values differ`);
}

test('convert: .pth restoration ({params}, module.), .pth extractor and torchvision-named VGG19 .pth', async () => {
  const out = join(dir, 'light.safetensors');
  const r = refsr(['convert', join(dir, 'net_g.pth'), '--extractor', join(dir, 'extractor.pth'), '--vgg', join(dir, 'vgg19.pth'), '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /light C2-Matching, \d+ tensors, restoration 4,825,395 parameters, VGG input imagenet/);
  const m = await converted(out);
  assert.equal(m.metadata['refsr.variant'], 'light');
  assert.equal(m.metadata['refsr.vgg_input'], 'imagenet');
  for (const [k, t] of restoration) sameBits(m.tensors.get(k)!, t, k);
  for (const [k, t] of extractor) sameBits(m.tensors.get(k)!, t, k);
  const tv: Record<string, string> = { 0: 'conv1_1', 2: 'conv1_2', 5: 'conv2_1', 7: 'conv2_2', 10: 'conv3_1' };
  for (const [k, t] of vggTorchvision) {
    const n = /^features\.(\d+)\.(weight|bias)$/.exec(k);
    if (!n || !tv[n[1]!]) continue;
    sameBits(m.tensors.get(`vgg.${tv[n[1]!]}.${n[2]}`)!, t, `${k} -> vgg.${tv[n[1]!]}.${n[2]}`);
  }
  assert.ok(![...m.tensors.keys()].some((k) => k.includes('features.12') || k.includes('classifier') || k.startsWith('module.')));
  assert.equal(m.tensors.size, [...bundleSpec(RESTORATION_VARIANTS.light).keys()].length);
});

const matconvnet = join(dataDir, 'vgg19-conv3_1', 'vgg19_relu3_1_oihw.json');
const matconvnetSkip = prerequisite(existsSync(matconvnet), `the MatConvNet VGG19 export is not at ${matconvnet}`);

test('convert: the MatConvNet relu3_1 JSON export keeps its weights and the Caffe input convention', { skip: matconvnetSkip }, async () => {
  const out = join(dir, 'caffe.safetensors');
  const r = refsr(['convert', join(dir, 'net_g.pth'), '--extractor', join(dir, 'extractor.pth'), '--vgg', matconvnet, '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /VGG input caffe/);
  const m = await converted(out);
  assert.equal(m.metadata['refsr.vgg_input'], 'caffe');
  const index = JSON.parse(readFileSync(matconvnet, 'utf8')) as { tensors: { name: string; shape: number[]; offset: number; nbytes: number }[] };
  const bin = readFileSync(matconvnet.replace(/\.json$/, '.f32.bin'));
  assert.equal(index.tensors.length, 10);
  for (const t of index.tensors) {
    const raw = bin.subarray(t.offset, t.offset + t.nbytes);
    const got = m.tensors.get(`vgg.${t.name}`)!;
    assert.deepEqual([...got.shape], t.shape, t.name);
    assert.ok(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(raw), `${t.name}: values differ from the .bin`);
  }
});

// Item of independence: the Caffe-convention VGG path (0..255 minus the mean, no std) against PyTorch's output for
// the same network with conv1_1 folded into the torchvision convention (golden `vgg`), on an ordinary image: a
// wrong mean, scale or channel order changes every value; the fold differs only on the 1-pixel image border.
test('VGG normalisation: the MatConvNet weights with the Caffe convention reproduce the golden relu3_1 away from the border', { skip: matconvnetSkip || prerequisite(hasGolden, `../shared/golden not found at ${goldenDir}`) }, async () => {
  const { FeatureExtractor } = await import('../src/eval/features.ts');
  const { GoldenCase } = await import('../src/golden/case-files.ts');
  const c = await GoldenCase.open(join(goldenDir, 'vgg'));
  const img = await c.f32('img');
  const golden = await c.f32('relu3_1');
  const fx = await FeatureExtractor.vggFromFile(matconvnet, { threads: 2 });
  try {
    assert.equal(fx.vggInput, 'caffe');
    const ours = await fx.vggRelu3({ shape: img.shape, data: img.data });
    const [, ch, h, w] = golden.shape as [number, number, number, number];
    let maxAbs = 0;
    for (const v of golden.data) maxAbs = Math.max(maxAbs, Math.abs(v));
    let interior = 0;
    let border = 0;
    for (let k = 0; k < ch; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = (k * h + y) * w + x;
      const d = Math.abs(ours.data[i]! - golden.data[i]!);
      if (y >= 3 && x >= 3 && y < h - 3 && x < w - 3) interior = Math.max(interior, d);
      else border = Math.max(border, d);
    }
    assert.ok(interior <= 1e-4 * maxAbs, `interior differs by ${interior} (max |golden| ${maxAbs})`);
    assert.ok(border > interior, 'the fold shows on the border only (else this test would not see the convention at all)');
  } finally {
    await fx.release();
  }
});
