// Benchmark: end-to-end `upscale` time for LR ~125x95 and ~250x190 with the full and light models, split into
// features / matching / restoration, cold (first call, includes ONNX session creation) and warm; achieved GFLOP/s
// of restoration and of matching against a plain ONNX 3x3 conv measured in the same run; peak RSS per
// configuration (each runs in its own child process); and the peak memory of matching a 500x500 pair.
// Prints one JSON document on stdout. Usage: npx tsx bench/upscale.ts [--quick] [--sizes 125x95,250x190]
//   [--variants full,light] [--model PATH (instead of seeded random weights)]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { bundleSpec, METADATA_KEYS, describeBundle } from '../src/models/model-bundle.ts';
import { initWeights } from '../src/models/init-weights.ts';
import { Rng } from '../src/random/rng.ts';
import { RESTORATION_VARIANTS, restorationNet, type RestorationVariant } from '../src/models/restoration-net.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { upscale } from '../src/pipeline/upscale.ts';
import { photoLike } from './support/photo-like.ts';
import { OnnxOps } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import { shapeOnlyCounter } from '../src/graph/flop-counter.ts';
import { matchRows } from '../src/matching/correspondence.ts';
import { tileLayout } from '../src/pipeline/tiles.ts';
import { DEFAULT_TILE, DEFAULT_OVERLAP } from '../src/pipeline/restore-tiled.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };


async function loadModel(variant: RestorationVariant, path?: string): Promise<RefSRModel> {
  if (path) return RefSRModel.load(path);
  const config = RESTORATION_VARIANTS[variant];
  const w = WeightMap.fromTensors(initWeights(bundleSpec(config), { seed: 1, offsetStd: 0.002 }), {
    [METADATA_KEYS.architecture]: 'c2-matching', [METADATA_KEYS.variant]: variant, [METADATA_KEYS.restorationConfig]: JSON.stringify(config),
  });
  return new RefSRModel(w, describeBundle(w, variant), `random-${variant}`);
}

function restorationFlops(model: RefSRModel, h: number, w: number): number {
  let total = 0;
  for (const t of tileLayout(h, w, DEFAULT_TILE, DEFAULT_OVERLAP).tiles) {
    const { ops, input } = shapeOnlyCounter();
    const lvl = (c: number, s: number) => ({ ref: input(`r${s}`, [1, c, t.h * s, t.w * s]), refLocal: input(`l${s}`, [1, c, t.h * s, t.w * s]), preOffset: input(`p${s}`, [1, 18, t.h * s, t.w * s]) });
    restorationNet(ops, { lr: input('lr', [1, 3, t.h, t.w]), relu3_1: lvl(256, 1), relu2_1: lvl(128, 2), relu1_1: lvl(64, 4) }, model.info.restoration);
    total += ops.flops;
  }
  return total;
}

async function plainConvGflops(h: number, w: number): Promise<number> {
  const rng = new Rng(2);
  const rnd = (shape: readonly number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
  const ops = new OnnxOps((_n, s) => rnd(s));
  const x = ops.input('x', [1, 64, h, w]);
  ops.output(ops.conv2d(x, ops.param('w', [64, 64, 3, 3]), ops.param('b', [64]), { pad: 1 }), 'y');
  const g = await OrtGraph.create(ops.encode());
  const input = rnd([1, 64, h, w]);
  await g.run({ x: input });
  const reps = 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await g.run({ x: input });
  const s = (performance.now() - t0) / 1000 / reps;
  await g.release();
  return (2 * 64 * 64 * 9 * h * w) / s / 1e9;
}

async function runConfig(variant: RestorationVariant, w: number, h: number, modelPath?: string) {
  const model = await loadModel(variant, modelPath);
  const lr = photoLike(w, h, 3);
  const ref = photoLike(4 * w, 4 * h, 4, 40);
  const runs = [];
  for (const label of ['cold', 'warm']) {
    const t0 = performance.now();
    const r = await upscale(model, lr, [{ image: ref, name: 'ref' }]);
    runs.push({ label, total: (performance.now() - t0) / 1000, ...r.seconds });
  }
  const warm = runs[1]!;
  const nIn = (h - 2) * (w - 2);
  const nRef = (h - 2) * (w - 2);
  const matchFlops = 2 * nIn * nRef * 2304;
  const restFlops = restorationFlops(model, h, w);
  const conv = await plainConvGflops(4 * h, 4 * w);
  await model.release();
  return {
    variant, lr: [w, h], output: [4 * w, 4 * h], reference: [4 * w, 4 * h], model: modelPath ?? 'seeded random weights (speed does not depend on the values)',
    seconds: { cold: round(runs[0]!), warm: round(warm) },
    restoration: { gflop: +(restFlops / 1e9).toFixed(1), gflops_achieved: +(restFlops / 1e9 / warm.restoration).toFixed(1) },
    matching: { gflop: +(matchFlops / 1e9).toFixed(1), gflops_achieved: +(matchFlops / 1e9 / warm.matching).toFixed(1) },
    plain_conv_gflops: +conv.toFixed(1),
    restoration_vs_plain_conv: +((restFlops / 1e9 / warm.restoration) / conv).toFixed(3),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function round(r: Record<string, number | string>) {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? +v.toFixed(2) : v]));
}

async function runMatchingMemory(side: number) {
  const rng = new Rng(5);
  const feat = () => ({ shape: [1, 256, side / 4, side / 4], data: Float32Array.from({ length: 256 * (side / 4) ** 2 }, () => rng.normal()) });
  const a = feat();
  const b = feat();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  // The matcher `upscale` runs in its exact mode (row-patch blocks, ROW_BLOCK_FLOATS each).
  let blocks = 0;
  await matchRows(a, b, { onProgress: () => { blocks++; } });
  return { pair: [side, side], feature_grid: [side / 4, side / 4], matcher: 'matchRows', blocks, seconds: +((performance.now() - t0) / 1000).toFixed(2), rss_before_mb: Math.round(before / 2 ** 20), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

async function child(spec: string) {
  const [kind, a, b, c] = spec.split(':');
  const result = kind === 'match' ? await runMatchingMemory(Number(a)) : await runConfig(a as RestorationVariant, Number(b), Number(c), flag('--model'));
  process.stdout.write(JSON.stringify(result));
}

async function parent() {
  const quick = args.includes('--quick');
  const sizes = (flag('--sizes') ?? (quick ? '64x48' : '125x95,250x190')).split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const variants = (flag('--variants') ?? 'full,light').split(',') as RestorationVariant[];
  const self = fileURLToPath(import.meta.url);
  const runChild = (spec: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', spec, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`benchmark ${spec} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const configs = [];
  for (const [w, h] of sizes) for (const v of variants) {
    process.stderr.write(`bench: ${v} ${w}x${h}...\n`);
    configs.push(runChild(`upscale:${v}:${w}:${h}`));
  }
  process.stderr.write('bench: matching memory 500x500...\n');
  const matching = runChild(`match:${quick ? 200 : 500}`);
  const out = {
    benchmark: 'refsr upscale', date: new Date().toISOString(), node: process.version,
    cpu: `${cpus()[0]?.model} x${cpus().length}`, threads: cpus().length,
    note: 'reference image = a 4x-size shifted variant of the synthetic input; times in seconds; cold includes ONNX session creation',
    configs, matching_memory: matching,
  };
  console.log(JSON.stringify(out, null, 2));
}

if (args[0] === '--child') await child(args[1]!);
else await parent();
