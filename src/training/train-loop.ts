// Owns the training loop shared by every stage: resume from the run folder's checkpoint, one Adam step per batch
// (gradients of the stage's loss w.r.t. its trainable parameters, per-group learning rates), a JSONL log line per
// step, periodic atomic checkpoints and validation, cancellation at a step boundary (with a checkpoint), and the
// stage's exported weights at the end; after each validation, the best model so far (`best_metric`) and the
// training curve (training-curve.ts). A stage may bring a critic (restoration's WGAN-GP discriminator), updated
// by its own Adam after each generator step at which it is active, and checkpointed with it. The data of step s
// depends only on (seed, s), so a resumed run follows the same loss curve as an uninterrupted one.

import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readFile, appendFile, writeFile, unlink } from 'node:fs/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CheckpointError } from './checkpoint.ts';
import { join } from 'node:path';
import { Adam } from './adam.ts';
import { learningRate, type TrainConfig } from './config.ts';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.ts';
import type { ParamStore, WeightSource } from './param-store.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { writeCurve } from './training-curve.ts';
import { createOnnxEngine, type StepEngine } from './onnx-engine/engine.ts';
import { BatchWorker } from './onnx-engine/batch-worker.ts';

export const LOG_FILE = 'log.jsonl';
export const MODEL_FILE = 'model.safetensors';
/** The stage's weights at the validation with the highest `best_metric` so far (when the config names one). */
export const BEST_MODEL_FILE = 'best.safetensors';

export interface StageLoss {
  readonly loss: tf.Scalar;
  /** Extra scalars to log (kept out of the gradient). */
  readonly logs: Record<string, tf.Scalar>;
}

/** One training stage (teacher, student, restoration) as the loop drives it. */
export interface TrainingStage<B> {
  readonly params: ParamStore;
  /** Host-side batch of step `step` (deterministic in the seed and the step). */
  prepare(step: number): Promise<B>;
  /** The loss of a prepared batch at (1-based) step `step`, built on tfjs (called inside the gradient tape). */
  loss(batch: B, step: number): StageLoss;
  /** A network trained against the stage's, with its own Adam (restoration's WGAN-GP critic), when configured. */
  readonly critic?: StageCritic<B>;
  /** Validation figures with the current weights. */
  validate(signal?: AbortSignal): Promise<Record<string, number>>;
  /**
   * Creates every trainable parameter without a forward pass (stages whose tfjs forward is too large to run just for
   * that, e.g. the video stage's whole clip); absent: the loop runs one forward outside the tape.
   */
  createParams?(): void;
  /** Writes the stage's weights (the file other stages and `refsr upscale` consume), atomically. */
  exportModel(path: string, step: number): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The adversary of a stage: updated after each generator step at which it is active, on the same batch and the
 * generator output of that step (held by the stage). Checkpointed under CRITIC_PREFIX.
 */
export interface StageCritic<B> {
  readonly params: ParamStore;
  readonly lr: number;
  active(step: number): boolean;
  loss(batch: B, step: number): StageLoss;
}

/** Key prefix of the critic's parameters and Adam moments in a checkpoint (official name of the discriminator). */
export const CRITIC_PREFIX = 'net_d.';

export type StageFactory<B> = (cfg: TrainConfig, resume: WeightSource | undefined) => Promise<TrainingStage<B>>;

export interface TrainEvents {
  onStart?(info: { step: number; steps: number; resumed: boolean; parameters: number }): void;
  onStep?(info: { step: number; steps: number; loss: number; secondsPerStep: number; samplesPerSecond: number }): void;
  onValidate?(step: number, figures: Record<string, number>): void;
  onCheckpoint?(step: number): void;
}

export interface TrainOptions {
  readonly outDir: string;
  /** Ignore (and overwrite) an existing checkpoint in outDir. */
  readonly restart?: boolean;
  /** Stop after this many steps of this invocation (tests, time-boxed sessions); the run resumes later. */
  readonly maxSteps?: number;
  readonly signal?: AbortSignal;
  readonly events?: TrainEvents;
}

export interface TrainResult {
  readonly step: number;
  readonly finished: boolean;
  readonly resumedFrom: number;
  readonly modelPath: string;
}

/** The JSONL log without the lines of steps after `step` (what an interrupted run wrote past its last checkpoint). */
async function truncateLog(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const keep = (await readFile(path, 'utf8')).split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false; // a torn last line
    }
  });
  await writeFile(path, keep.length ? `${keep.join('\n')}\n` : '');
}

function gradsByName(vars: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [key, v] of vars) {
    const g = grads[v.name];
    if (g) out[key] = g;
  }
  return out;
}

/** Takes the run folder's lock (a file holding our pid); a folder another live process trains in is refused. */
function lockRunFolder(dir: string): string {
  const lock = join(dir, 'run.lock');
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return lock;
  } catch {
    const pid = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      alive = Number.isInteger(pid) && pid > 0 && pid !== process.pid && (process.kill(pid, 0), true);
    } catch {
      alive = false;
    }
    if (alive) throw new CheckpointError(`run folder ${dir} is in use by another training process (pid ${pid})`);
    writeFileSync(lock, String(process.pid)); // left behind by a killed run
    return lock;
  }
}

export async function train<B>(cfg: TrainConfig, factory: StageFactory<B>, opts: TrainOptions): Promise<TrainResult> {
  await mkdir(opts.outDir, { recursive: true });
  const lock = lockRunFolder(opts.outDir);
  try {
    return await trainLocked(cfg, factory, opts);
  } finally {
    await unlink(lock).catch(() => {});
  }
}

async function trainLocked<B>(cfg: TrainConfig, factory: StageFactory<B>, opts: TrainOptions): Promise<TrainResult> {
  const ckptPath = join(opts.outDir, CHECKPOINT_FILE);
  const logPath = join(opts.outDir, LOG_FILE);
  const saved = opts.restart ? undefined : await loadCheckpoint(ckptPath, cfg);
  if (opts.restart) await writeFile(logPath, '');
  else await truncateLog(logPath, saved?.step ?? 0);
  const resume: WeightSource | undefined = saved ? (name) => saved.params.get(name) : undefined;
  const stage = await factory(cfg, resume);
  const adam = new Adam();
  const criticAdam = new Adam();
  if (saved) {
    const isCritic = (k: string) => /^adam\.[mv]\./.test(k) && k.slice('adam.m.'.length).startsWith(CRITIC_PREFIX);
    adam.load(new Map([...saved.optimizer].filter(([k]) => !isCritic(k))), saved.adamSteps);
    criticAdam.load(new Map([...saved.optimizer].filter(([k]) => isCritic(k))), saved.criticAdamSteps ?? 0);
  }
  const critic = stage.critic;
  let engine: StepEngine<B> | undefined;
  let batches: BatchWorker<B> | undefined;
  const criticVars = () => new Map([...(critic?.params.vars ?? [])].map(([k, v]) => [CRITIC_PREFIX + k, v]));
  let step = saved?.step ?? 0;
  const resumedFrom = step;
  try {
    // `engine: onnx`: loss and gradients from ONNX Runtime (src/training/onnx-engine/); Adam and checkpoints as below.
    engine = cfg.engine === 'onnx' ? createOnnxEngine(cfg, stage) : undefined;
    // With it, batches come from a worker thread that prepares step s + 1 while step s computes.
    batches = engine ? new BatchWorker<B>(cfg) : undefined;
    // One forward outside the tape creates every parameter (the tape only sees variables that exist before it).
    const first = await stage.prepare(step);
    if (stage.createParams) stage.createParams();
    else tf.tidy(() => { stage.loss(first, step + 1); });
    if (critic) tf.tidy(() => { critic.loss(first, step + 1); });
    const parameters = [...stage.params.vars.values()].reduce((n, v) => n + v.size, 0);
    opts.events?.onStart?.({ step, steps: cfg.steps, resumed: saved !== undefined, parameters });

    const checkpoint = async () => {
      const params = stage.params.snapshot();
      if (critic) for (const [k, t] of critic.params.snapshot()) params.set(CRITIC_PREFIX + k, t);
      const optimizer = new Map([...adam.state(), ...criticAdam.state()]);
      const state: CheckpointState = { step, adamSteps: adam.steps, criticAdamSteps: criticAdam.steps, params, optimizer };
      await saveCheckpoint(ckptPath, cfg, state);
      opts.events?.onCheckpoint?.(step);
    };
    let best = cfg.bestMetric ? await bestSoFar(logPath, cfg.bestMetric) : undefined;
    const validate = async () => {
      const figures = await stage.validate(opts.signal);
      const value = cfg.bestMetric ? figures[cfg.bestMetric] : undefined;
      const improved = value !== undefined && Number.isFinite(value) && (best === undefined || value > best);
      if (improved) {
        await stage.exportModel(join(opts.outDir, BEST_MODEL_FILE), step);
        best = value;
      }
      await appendFile(logPath, `${JSON.stringify({ step, validation: figures, ...(improved ? { best: cfg.bestMetric } : {}) })}\n`);
      await writeCurve(opts.outDir, `refsr train ${cfg.stage}`);
      opts.events?.onValidate?.(step, figures);
    };

    if (cfg.validateAtStart && step === 0) await validate();
    const stopAt = Math.min(cfg.steps, opts.maxSteps !== undefined ? step + opts.maxSteps : cfg.steps);
    let batch: B | undefined = first;
    while (step < stopAt) {
      if (opts.signal?.aborted) {
        await checkpoint();
        opts.signal.throwIfAborted();
      }
      const t0 = performance.now();
      const b: B = batch ?? (await (batches ? batches.get(step) : stage.prepare(step)));
      batch = undefined;
      if (batches && step + 1 < stopAt) batches.prefetch(step + 1);
      const lrOf = (name: string) => learningRate(cfg, name, step);
      let logs: Record<string, number> = {};
      const onnxStep = engine ? await engine.step(b, step + 1) : undefined;
      const lossValue = onnxStep ? tf.tidy(() => {
        logs = onnxStep.logs;
        const grads: Record<string, tf.Tensor> = {};
        for (const [k, g] of onnxStep.grads) grads[k] = tf.tensor(g.data, [...g.shape], 'float32');
        adam.apply(stage.params.vars, grads, lrOf);
        return onnxStep.loss;
      }) : tf.tidy(() => {
        let extra: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.variableGrads(() => {
          const r = stage.loss(b, step + 1);
          extra = r.logs;
          for (const t of Object.values(extra)) tf.keep(t);
          return r.loss;
        }, [...stage.params.vars.values()]);
        adam.apply(stage.params.vars, gradsByName(stage.params.vars, grads), lrOf);
        logs = Object.fromEntries(Object.entries(extra).map(([k, t]) => [k, t.dataSync()[0]!]));
        for (const t of Object.values(extra)) t.dispose();
        return value.dataSync()[0]!;
      });
      // The critic (WGAN-GP) learns from this step's output, after the generator's update, on tfjs (either engine).
      if (critic?.active(step + 1)) {
        tf.tidy(() => {
          const criticLogs: Record<string, tf.Scalar> = {};
          const d = tf.variableGrads(() => {
            const r = critic.loss(b, step + 1);
            for (const [k, t] of Object.entries(r.logs)) criticLogs[k] = tf.keep(t);
            return r.loss;
          }, [...critic.params.vars.values()]);
          const vars = criticVars();
          criticAdam.apply(vars, gradsByName(vars, d.grads), () => critic.lr);
          criticLogs.critic_loss = d.value;
          for (const [k, t] of Object.entries(criticLogs)) logs[k] = t.dataSync()[0]!;
          for (const t of Object.values(criticLogs)) t.dispose();
        });
      }
      step++;
      const seconds = (performance.now() - t0) / 1000;
      if (!Number.isFinite(lossValue)) throw new Error(`training diverged at step ${step}: loss is ${lossValue} (lower the learning rate; the last checkpoint is intact)`);
      const line = { step, loss: lossValue, ...logs, lr: cfg.lr * cfg.lrDecay.factor ** cfg.lrDecay.at.filter((s) => step > s).length, seconds: Number(seconds.toFixed(3)) };
      await appendFile(logPath, `${JSON.stringify(line)}\n`);
      opts.events?.onStep?.({ step, steps: cfg.steps, loss: lossValue, secondsPerStep: seconds, samplesPerSecond: cfg.batch / seconds });
      if (step % cfg.checkpointEvery === 0 || step === stopAt) await checkpoint();
      if (step % cfg.validateEvery === 0 || step === cfg.steps) await validate();
    }
    // The stage's weights as they stand (also when stopping early with --max-steps: the provenance names the step).
    const modelPath = join(opts.outDir, MODEL_FILE);
    await stage.exportModel(modelPath, step);
    return { step, finished: step >= cfg.steps, resumedFrom, modelPath };
  } finally {
    await batches?.close();
    await engine?.release();
    adam.dispose();
    criticAdam.dispose();
    await stage.dispose();
  }
}

/** The highest `metric` among the validation lines of a (resumed, truncated) run log. */
async function bestSoFar(logPath: string, metric: string): Promise<number | undefined> {
  let best: number | undefined;
  const text = existsSync(logPath) ? await readFile(logPath, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.includes('"validation"')) continue;
    try {
      const v = (JSON.parse(line) as { validation?: Record<string, number> }).validation?.[metric];
      if (typeof v === 'number' && Number.isFinite(v) && (best === undefined || v > best)) best = v;
    } catch { /* a torn last line: ignored */ }
  }
  return best;
}

/** Parameters of a stage as host tensors, optionally restricted to key prefixes. */
export function paramsWithPrefix(params: ParamStore, prefixes: readonly string[]): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const [k, t] of params.snapshot()) if (prefixes.some((p) => k.startsWith(p))) out.set(k, t);
  return out;
}
