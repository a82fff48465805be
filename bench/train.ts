// Benchmark: training speed of each stage (teacher, student, restoration) with the CPU configs that trained the
// bundled model (configs/cpu-teacher.yaml; the student is the same with a frozen seeded teacher;
// configs/cpu-restoration.yaml), run through the real training loop: samples/s of whole steps, the time spent
// preparing batches (data synthesis; for restoration also the frozen extractor and matching on ONNX Runtime), and
// the achieved GFLOP/s of the trainable network (forward + backward counted as 3x its forward convolutions, plus a
// frozen teacher's forward) against a plain tfjs 3x3 conv forward + backward measured in the same process.
// Data: ../shared/data/train when present, else generated textures. Prints one JSON document on stdout.
// Engines: each stage runs on every engine of --engines (default tfjs,onnx) in turn, same data, same process, and
// that --rounds times (default 1) alternating engines, so a machine whose load drifts (other jobs on the cores)
// weighs on both alike; medians are over all rounds' timed steps. The stage's entry has one result per engine,
// the CPU seconds per step (process.cpuUsage: user + system of every thread) and the ratios of each engine to tfjs.
// Each run's first --warmup steps (default 3) are not timed, on either engine: they create the ONNX sessions per
// shape, start the batch worker (which loads the photos and its frozen networks while the first steps compute) and
// warm the JIT; a training run's thousands of steps go at the steady rate that follows.
// Usage: npx tsx bench/train.ts [--steps N (timed steps per stage and round, default 4)] [--rounds R]
//        [--warmup W] [--stages teacher,student,restoration] [--engines tfjs,onnx]

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { parseTrainConfig, type TrainConfig, type TrainEngine, type TrainStage } from '../src/training/config.ts';
import { engineThreads } from '../src/training/onnx-engine/step-engine.ts';
import { train, type StageFactory, type TrainingStage } from '../src/training/train-loop.ts';
import { ContrastiveStage, type ContrastiveBatch } from '../src/training/stages/contrastive-stage.ts';
import { RestorationStage, type RestorationBatch } from '../src/training/stages/restoration-stage.ts';
import { shapeOnlyCounter } from '../src/graph/flop-counter.ts';
import { contrasBranch } from '../src/models/contras-extractor.ts';
import { restorationNet } from '../src/models/restoration-net.ts';
import { Rng } from '../src/random/rng.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const timedSteps = Number(flag('--steps') ?? 4);
const stages = (flag('--stages') ?? 'teacher,student,restoration').split(',') as TrainStage[];
const engines = (flag('--engines') ?? 'tfjs,onnx').split(',') as TrainEngine[];
const rounds = Number(flag('--rounds') ?? 1);
const warmup = Number(flag('--warmup') ?? 3);
if (!(Number.isInteger(warmup) && warmup >= 1)) throw new Error(`--warmup must be an integer >= 1, got ${flag('--warmup')}`);
const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..');
const sharedTrain = resolve(repoRoot, '..', 'shared', 'data', 'train');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const round = (x: number, d = 3) => Number(x.toFixed(d));

async function generatedPhotos(dir: string): Promise<string> {
  const rng = new Rng(5);
  for (let i = 0; i < 12; i++) {
    const w = 240;
    const h = 200;
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      const v = 128 + 60 * Math.sin(x / (4 + i) + c) * Math.cos(y / (3 + i / 2)) + 25 * Math.sin((x * y) / 400) + 10 * rng.normal();
      data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `p${i}.png`));
  }
  return dir;
}

/** The stage's CPU config, shortened to warm-up + timed steps, never validating, on `data`. */
function benchConfig(stage: TrainStage, data: string): TrainConfig {
  const file = join(repoRoot, 'configs', stage === 'restoration' ? 'cpu-restoration.yaml' : 'cpu-teacher.yaml');
  let text = readFileSync(file, 'utf8')
    .replace(/^steps: .*$/m, `steps: ${timedSteps + warmup}`)
    .replace(/^checkpoint_every: .*$/m, 'checkpoint_every: 100000')
    .replace(/^validate_every: .*$/m, 'validate_every: 100000')
    .replace(/^(\s*train:) .*$/m, `$1 [${JSON.stringify(data)}]`);
  if (stage === 'student') text = text.replace(/^stage: teacher$/m, 'stage: student').replace(/^init: \{ std: he \}$/m, "init: { std: he, extractor: 'seeded:1' }");
  return parseTrainConfig(text, file);
}

/** Forward FLOPs of one step's networks: the trainable ones, and a frozen teacher's. */
function stepFlops(cfg: TrainConfig, batch: unknown): { trainable: number; frozen: number } {
  if (cfg.stage === 'restoration') {
    const b = batch as RestorationBatch;
    const { ops, input } = shapeOnlyCounter();
    const level = (l: 'relu3_1' | 'relu2_1' | 'relu1_1') => ({
      ref: input(`r_${l}`, b.levels[l].ref.shape), refLocal: input(`l_${l}`, b.levels[l].refLocal.shape), preOffset: input(`p_${l}`, b.levels[l].preOffset.shape),
    });
    const r = cfg.model.restoration;
    restorationNet(ops, { lr: input('lr', b.lr.shape), relu3_1: r.smallAggregation ? level('relu3_1') : undefined, relu2_1: level('relu2_1'), relu1_1: level('relu1_1') }, r);
    return { trainable: ops.flops, frozen: 0 };
  }
  const b = batch as ContrastiveBatch;
  const branches = (first: readonly number[]) => {
    const { ops, input } = shapeOnlyCounter();
    contrasBranch(ops, 1, input('a', first), cfg.model.trunkWidths);
    contrasBranch(ops, 2, input('b', b.in2.shape), cfg.model.trunkWidths);
    return ops.flops;
  };
  return { trainable: branches(b.in1.shape), frozen: b.teacherIn1 ? branches(b.teacherIn1.shape) : 0 };
}

/** GFLOP/s of a plain 3x3, 64 -> 64 conv forward + both gradients on a 64x64 map, batch 4, on the training backend. */
function plainConvGflops(): number {
  const x = tf.randomNormal([4, 64, 64, 64]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 64, 64], 0, 0.05) as tf.Tensor4D;
  const f = (...t: tf.Tensor[]) => tf.sum(tf.conv2d(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, 1, 'same'));
  const step = () => tf.tidy(() => { const g = tf.grads(f)([x, w]); g.forEach((t) => t.dataSync()); });
  step();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  x.dispose();
  w.dispose();
  return (3 * 2 * 4 * 64 * 64 * 64 * 64 * 9) / median(times) / 1e9;
}

interface Samples { prepareSeconds: number[]; stepSeconds: number[]; cpuSeconds: number[]; firstBatch?: unknown }

/** One training run of `stage` on `engine`; appends its timings to `acc`. */
async function runStage(stage: TrainStage, engine: TrainEngine, data: string, acc: Samples): Promise<void> {
  const cfg: TrainConfig = { ...benchConfig(stage, data), engine };
  const prepareSeconds: number[] = [];
  let firstBatch: unknown;
  const factory = (cfg.stage === 'restoration' ? RestorationStage.create : ContrastiveStage.create) as StageFactory<unknown>;
  const timed: StageFactory<unknown> = async (c, resume) => {
    const s = await factory(c, resume);
    // The stage itself with a timed `prepare` (prototype wrapper: the engine still sees the stage's class).
    const wrapped: TrainingStage<unknown> = Object.assign(Object.create(s) as TrainingStage<unknown>, {
      prepare: async (step: number) => {
        const t0 = performance.now();
        const b = await s.prepare(step);
        prepareSeconds.push((performance.now() - t0) / 1000);
        firstBatch ??= b;
        return b;
      },
    });
    return wrapped;
  };
  const out = mkdtempSync(join(tmpdir(), `refsr-bench-${stage}-`));
  let cpu = process.cpuUsage();
  try {
    await train(cfg, timed, {
      outDir: out, restart: true, events: {
        onStep: (i) => {
          const c = process.cpuUsage(cpu);
          cpu = process.cpuUsage();
          if (i.step > warmup) { acc.stepSeconds.push(i.secondsPerStep); acc.cpuSeconds.push((c.user + c.system) / 1e6); }
        },
      },
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  acc.prepareSeconds.push(...prepareSeconds.slice(warmup));
  acc.firstBatch ??= firstBatch;
}

function summarize(stage: TrainStage, engine: TrainEngine, data: string, plainConv: number, acc: Samples) {
  const cfg = benchConfig(stage, data);
  const { stepSeconds } = acc;
  // Warm-up steps are not timed (see the header); later steps prepare their own batch (tfjs) or get it from the worker.
  const step = median(stepSeconds);
  const prepare = median(acc.prepareSeconds);
  // engine: onnx prepares batches in a worker thread (src/training/onnx-engine/batch-worker.ts), overlapping the
  // step: its compute time is the whole step (a lower bound on its GFLOP/s); `prepare` is the main thread's.
  const inWorker = engine === 'onnx';
  const compute = inWorker ? step : step - prepare;
  const flops = stepFlops(cfg, acc.firstBatch);
  const gflops = (3 * flops.trainable + flops.frozen) / compute / 1e9;
  return {
    stage, engine, ...(engine === 'onnx' ? { threads: engineThreads() } : {}), config: stage === 'restoration' ? 'configs/cpu-restoration.yaml' : `configs/cpu-teacher.yaml${stage === 'student' ? ' as student, frozen seeded:1 teacher' : ''}`,
    batch: cfg.batch, warmup_steps_per_run: warmup, timed_steps: stepSeconds.length,
    samples_per_second: round(cfg.batch / step),
    cpu_seconds_per_step: round(median(acc.cpuSeconds)),
    seconds: { step: round(step), ...(inWorker ? { prepare: 'in the batch worker, overlapped' } : { prepare: round(prepare) }), forward_backward_adam: round(compute) },
    gflop_per_step: { trainable_forward: round(flops.trainable / 1e9), frozen_forward: round(flops.frozen / 1e9), counted: round((3 * flops.trainable + flops.frozen) / 1e9) },
    gflops_achieved: round(gflops, 2),
    ratio_to_plain_conv: round(gflops / plainConv, 2),
  };
}

await initTfjs();
const tmpData = existsSync(sharedTrain) ? undefined : mkdtempSync(join(tmpdir(), 'refsr-bench-photos-'));
const data = tmpData ? await generatedPhotos(tmpData) : sharedTrain;
const plainConv = plainConvGflops();
const results = [];
for (const s of stages) {
  const acc = Object.fromEntries(engines.map((e) => [e, { prepareSeconds: [], stepSeconds: [], cpuSeconds: [] } as Samples]));
  for (let r = 0; r < rounds; r++) for (const e of engines) await runStage(s, e, data, acc[e]!);
  const byEngine = Object.fromEntries(engines.map((e) => [e, summarize(s, e, data, plainConv, acc[e]!)]));
  const base = byEngine.tfjs;
  const others = engines.filter((e) => e !== 'tfjs');
  results.push({
    stage: s, rounds, engines: byEngine,
    samples_per_second_ratio_to_tfjs: base ? Object.fromEntries(others.map((e) => [e, round(byEngine[e]!.samples_per_second / base.samples_per_second, 2)])) : {},
    cpu_seconds_per_step_ratio_tfjs_to: base ? Object.fromEntries(others.map((e) => [e, round(base.cpu_seconds_per_step / byEngine[e]!.cpu_seconds_per_step, 2)])) : {},
  });
}
if (tmpData) rmSync(tmpData, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({
  benchmark: 'training speed per stage',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, backend: tf.getBackend() },
  data: tmpData ? 'generated textures (../shared/data/train absent)' : '../shared/data/train',
  plain_conv_fwd_bwd_gflops: round(plainConv, 2),
  stages: results,
}, null, 2)}\n`);
