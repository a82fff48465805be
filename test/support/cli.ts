// The one way tests run the `refsr` command line: a real process on bin/refsr.js, plain output (no colours), a
// timeout; and a variant that sends Ctrl-C (SIGINT) when the process reports a stall point (REFSR_STALL_AT, see
// src/debug/stall-point.ts), so a cancel lands at a known moment of the work.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared.ts';

export const BIN = join(repoRoot, 'bin', 'refsr.js');

export interface CliResult {
  /** Exit code; null when the process was killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes (an image written with -o -). */
  readonly stdoutBytes?: Buffer;
}

export interface CliOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
}

export function refsr(args: string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd, env: { ...process.env, FORCE_COLOR: '0', ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

/**
 * Runs `refsr args` with REFSR_STALL_AT=point and sends SIGINT as soon as stderr says it stalled there. Resolves
 * with the result and whether the signal was sent (it is not when the process never reaches the point).
 */
export function refsrInterrupted(args: string[], point: string, opts: CliOptions = {}): Promise<CliResult & { interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, FORCE_COLOR: '0', ...opts.env, REFSR_STALL_AT: point }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!interrupted && stderr.includes(`refsr: stalled at ${point}`)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, interrupted }); });
  });
}
