// Owns the `refsr` command line: command registration and the mapping of every known failure to one clear line on
// stderr and an exit code (1 = bad input or failure, 2 = usage, 130 = cancelled), never a stack trace for
// expected errors.

import { Command, CommanderError } from 'commander';
import { registerUpscale } from './commands/upscale.ts';
import { registerEval } from './commands/eval.ts';
import { registerConvert } from './commands/convert.ts';
import { registerMatch } from './commands/match.ts';
import { registerRobustness } from './commands/robustness.ts';
import { registerTrain } from './commands/train.ts';
import { registerCurve } from './commands/curve.ts';
import { CancelledError } from './cancellation.ts';

const EXPECTED_ERRORS = new Set([
  'ImageInputError', 'WeightFileError', 'OutputWriteError', 'ModelNotFoundError', 'ModelFileError', 'MissingWeightError',
  'UpscaleInputError', 'DatasetError', 'MetricSizeError', 'ConvertError',
  'MatchInputError', 'TrainConfigError', 'TrainingDataError', 'CheckpointError',
  'AlbumError',
]);

export function buildProgram(): Command {
  const program = new Command();
  program.name('refsr').description('reference-based 4x super-resolution (C2-Matching) on the CPU').version('0.1.0');
  program.exitOverride();
  registerUpscale(program);
  registerEval(program);
  registerConvert(program);
  registerMatch(program);
  registerRobustness(program);
  registerTrain(program);
  registerCurve(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CancelledError || (e as Error).name === 'AbortError') {
      process.stderr.write(`refsr: ${e instanceof CancelledError ? e.message : 'cancelled; nothing was written'}\n`);
      return 130;
    }
    const err = e as Error;
    if (EXPECTED_ERRORS.has(err.name)) {
      process.stderr.write(`refsr: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`refsr: unexpected error: ${err.stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
