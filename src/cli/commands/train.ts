// Owns `refsr train teacher|student|restoration|multi-reference|video --config FILE.yaml [--out DIR]`: starts or
// resumes a run in its folder (checkpoint.safetensors, log.jsonl, model.safetensors at the end), with a progress bar
// showing loss and speed on a TTY (plain lines otherwise), and a checkpoint on Ctrl-C before exiting.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { TrainStage } from '../../training/config.ts';

/** The stages (config.ts TRAIN_STAGES; listed here so the CLI starts without loading the training code). */
const STAGES: readonly TrainStage[] = ['teacher', 'student', 'restoration', 'multi-reference', 'video'];
import type { TrainEvents } from '../../training/train-loop.ts';
import { requireTrainingPeers } from '../../training/peer-dependencies.ts';
import { withCancellation, CancelledError } from '../cancellation.ts';

interface TrainFlags {
  config: string;
  out?: string;
  restart?: boolean;
  maxSteps?: number;
  quiet?: boolean;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function progressEvents(quiet: boolean): TrainEvents & { stop(): void } {
  if (quiet) return { stop() {} };
  const write = (m: string) => process.stderr.write(`${m}\n`);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream: process.stderr, hideCursor: true,
      format: 'train |{bar}| {value}/{total} | loss {loss} | {speed} samples/s | eta {eta_formatted}',
    }, cliProgress.Presets.shades_classic);
    return {
      onStart: (i) => { write(`${i.resumed ? `resuming at step ${i.step}` : 'starting'}; ${i.parameters.toLocaleString('en')} trainable parameters`); bar.start(i.steps, i.step, { loss: '-', speed: '-' }); },
      onStep: (i) => bar.update(i.step, { loss: i.loss.toFixed(4), speed: i.samplesPerSecond.toFixed(2) }),
      onValidate: (step, f) => { bar.stop(); write(`validation at step ${step}: ${JSON.stringify(f)}`); bar.start(bar.getTotal(), step, { loss: '-', speed: '-' }); },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    onStart: (i) => write(`${i.resumed ? `resuming at step ${i.step}` : 'starting'} of ${i.steps}; ${i.parameters} trainable parameters`),
    onStep: (i) => {
      if (i.step - last >= 10 || i.step === i.steps) {
        last = i.step;
        write(`step ${i.step}/${i.steps} loss ${i.loss.toFixed(5)} ${i.samplesPerSecond.toFixed(2)} samples/s`);
      }
    },
    onValidate: (step, f) => write(`validation at step ${step}: ${JSON.stringify(f)}`),
    onCheckpoint: (step) => write(`checkpoint at step ${step}`),
    stop() {},
  };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a stage (teacher, student, restoration, multi-reference, video); resumable, atomic checkpoints, JSONL log')
    .argument('<stage>', STAGES.join(' | '), (v: string) => {
      if (!(STAGES as readonly string[]).includes(v)) throw new InvalidArgumentError(`choose ${STAGES.join(', ')}`);
      return v as TrainStage;
    })
    .requiredOption('-c, --config <file>', 'training configuration (YAML; see configs/)')
    .option('-o, --out <dir>', 'run folder (default: runs/<stage>)')
    .option('--restart', 'start over, ignoring a checkpoint in the run folder')
    .option('--max-steps <n>', 'stop after this many steps of this invocation (resume later)', positiveInt)
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', `
Training needs the optional dependencies @tensorflow/tfjs-core, @tensorflow/tfjs-backend-cpu,
@tensorflow/tfjs-backend-wasm (4.22) and tsx; inference does not.

Example:
  refsr train restoration --config configs/cpu-restoration.yaml --out runs/restoration --max-steps 100`)
    .action(async (stage: TrainStage, flags: TrainFlags) => {
      requireTrainingPeers();
      const { readTrainConfig, TrainConfigError } = await import('../../training/config.ts');
      const { train } = await import('../../training/train-loop.ts');
      const { initTfjs } = await import('../../training/tfjs-backend.ts');
      const { ContrastiveStage } = await import('../../training/stages/contrastive-stage.ts');
      const { RestorationStage } = await import('../../training/stages/restoration-stage.ts');
      const { MultiReferenceStage } = await import('../../training/stages/multi-reference-stage.ts');
      const { VideoStage } = await import('../../training/stages/video-stage.ts');
      const cfg = await readTrainConfig(flags.config);
      if (cfg.stage !== stage) throw new TrainConfigError(`${flags.config} configures the ${cfg.stage} stage, not ${stage}`);
      const outDir = resolve(flags.out ?? `runs/${stage}`);
      const events = progressEvents(Boolean(flags.quiet));
      let saved: number | undefined;
      const onCheckpoint = events.onCheckpoint;
      events.onCheckpoint = (step) => { saved = step; onCheckpoint?.(step); };
      await initTfjs();
      try {
        const r = await withCancellation((signal) => {
          const opts = { outDir, restart: flags.restart, maxSteps: flags.maxSteps, signal, events };
          if (stage === 'restoration') return train(cfg, RestorationStage.create, opts);
          if (stage === 'multi-reference') return train(cfg, MultiReferenceStage.create, opts);
          if (stage === 'video') return train(cfg, VideoStage.create, opts);
          return train(cfg, ContrastiveStage.create, opts);
        });
        events.stop();
        process.stdout.write(`${JSON.stringify({ stage, step: r.step, steps: cfg.steps, finished: r.finished, resumedFrom: r.resumedFrom, model: r.modelPath ?? null, runFolder: outDir })}\n`);
      } catch (e) {
        if (e instanceof CancelledError && saved !== undefined) throw new CancelledError(`cancelled; checkpoint at step ${saved} kept in ${outDir}: rerun the same command to resume`);
        throw e;
      } finally {
        events.stop();
      }
    });
}
