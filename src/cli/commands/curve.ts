// Owns `refsr curve RUN_DIR`: (re)writes a training run's curve from its log (RUN_DIR/curve.jsonl and curve.png, as
// the trainer does after every validation) and prints the validation figures as JSON lines. For a run still in
// progress or one trained before curves were written.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function registerCurve(program: Command): void {
  program
    .command('curve')
    .description('write a training run\'s validation curve (curve.jsonl, curve.png) from its log')
    .argument('<run-dir>', 'training run folder (holds log.jsonl)')
    .option('--title <text>', 'chart title', 'refsr training')
    .addHelpText('after', `
Example:
  refsr curve training-runs/restoration-vgg2 --title "second model"`)
    .action(async (runDir: string, flags: { title: string }) => {
      const { TrainingDataError } = await import('../../training/data/image-folder.ts');
      const { writeCurve, CURVE_JSONL, CURVE_PNG } = await import('../../training/training-curve.ts');
      if (!existsSync(join(runDir, 'log.jsonl'))) throw new TrainingDataError(`${runDir}: no log.jsonl (not a training run folder)`);
      const points = await writeCurve(runDir, flags.title);
      if (points.length === 0) throw new TrainingDataError(`${join(runDir, 'log.jsonl')}: no validation yet, nothing to draw`);
      for (const p of points) process.stdout.write(`${JSON.stringify({ step: p.step, ...p.figures })}\n`);
      process.stderr.write(`wrote ${join(runDir, CURVE_JSONL)} and ${join(runDir, CURVE_PNG)} (${points.length} validations)\n`);
    });
}
