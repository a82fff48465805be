// Owns progress reporting on stderr: a bar on a TTY (cli-progress), plain timestamped lines otherwise, silence
// with --quiet. Stages report fractions; the reporter throttles plain lines to one per stage step of 10%.

import cliProgress from 'cli-progress';

export interface ProgressReporter {
  update(stage: string, fraction: number): void;
  note(message: string): void;
  stop(): void;
}

export function createProgress(opts: { quiet?: boolean; tty?: boolean } = {}): ProgressReporter {
  if (opts.quiet) return { update() {}, note() {}, stop() {} };
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  if (tty) {
    const bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: '{stage} |{bar}| {percentage}% | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    let current = '';
    return {
      update(stage, fraction) {
        if (stage !== current) {
          if (current) bar.stop();
          current = stage;
          bar.start(100, 0, { stage: stage.padEnd(11) });
        }
        bar.update(Math.round(fraction * 100), { stage: stage.padEnd(11) });
      },
      note(message) {
        process.stderr.write(`\n${message}\n`);
      },
      stop() { if (current) bar.stop(); },
    };
  }
  const lastStep = new Map<string, number>();
  const t0 = performance.now();
  const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1)}s]`;
  return {
    update(stage, fraction) {
      const step = Math.floor(fraction * 10);
      if (lastStep.get(stage) === step) return;
      lastStep.set(stage, step);
      process.stderr.write(`${stamp()} ${stage} ${Math.round(fraction * 100)}%\n`);
    },
    note(message) { process.stderr.write(`${stamp()} ${message}\n`); },
    stop() {},
  };
}
