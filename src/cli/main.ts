// Owns the `refsr` command line: command registration (required options marked in every help, `-v` for the
// version) and the mapping of every known failure to one clear line on stderr and an exit code (1 = bad input or
// failure, 2 = usage, 130 = cancelled), never a stack trace for expected errors (every RefsrError). Library
// messages name API options ("the tile option"); here they become flags ("--tile"). Commands load their heavy
// modules only when they run, so start-up stays fast.

import { Command, CommanderError, type Option } from 'commander';
import { readFileSync } from 'node:fs';
import { registerUpscale } from './commands/upscale.ts';
import { registerEval } from './commands/eval.ts';
import { registerConvert } from './commands/convert.ts';
import { registerMatch } from './commands/match.ts';
import { registerRobustness } from './commands/robustness.ts';
import { registerTrain } from './commands/train.ts';
import { registerCurve } from './commands/curve.ts';
import { registerServe } from './commands/serve.ts';
import { registerVideo } from './commands/video.ts';
import { registerEvalVideo } from './commands/eval-video.ts';
import { CancelledError } from './cancellation.ts';
import { RefsrError } from '../errors/refsr-error.ts';
import { UsageError } from './cli-errors.ts';
import { optionNamesToFlags } from './options.ts';

/** The package version (package.json is two folders up from both src/cli and dist/cli). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Appends "(required)" to the help of every mandatory option. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options as Option[]) if (o.mandatory && !o.description.endsWith('(required)')) o.description += ' (required)';
  for (const c of cmd.commands) markRequired(c);
}

export function buildProgram(): Command {
  const program = new Command();
  program.name('refsr').description('reference-based 4x super-resolution (C2-Matching) on the CPU').version(packageVersion(), '-v, --version', 'print the version');
  program.exitOverride();
  program.addHelpText('after', `
Example:
  refsr upscale examples/coffee-lr.png --ref examples/coffee-ref.png -o coffee-x4.png
Run refsr help COMMAND (or refsr COMMAND --help) for a command's options and examples.`);
  registerUpscale(program);
  registerEval(program);
  registerConvert(program);
  registerMatch(program);
  registerRobustness(program);
  registerTrain(program);
  registerCurve(program);
  registerVideo(program);
  registerEvalVideo(program);
  registerServe(program);
  markRequired(program);
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
    if (err instanceof RefsrError) {
      process.stderr.write(`refsr: ${optionNamesToFlags(err.message)}\n`);
      return err instanceof UsageError || err.name === 'UpscaleOptionError' ? 2 : 1;
    }
    process.stderr.write(`refsr: unexpected error: ${err.stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
