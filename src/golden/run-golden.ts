// Owns running every golden case found in a directory (one sub-folder per case, each with case.json) and
// summarising the checks; a runner that throws counts as a failure. A case with no runner yet is reported as not
// implemented (`notImplemented`): it does not pass, and the CLI lists it without failing the run on it alone.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { GoldenCase } from './case-files.ts';
import { GOLDEN_RUNNERS } from './registry.ts';
import type { CheckResult } from './tolerance.ts';

export interface CaseReport {
  readonly case: string;
  readonly dir: string;
  readonly checks: CheckResult[];
  readonly error?: string;
  /** No runner is registered for this case name (a case of a model refsr does not implement yet). */
  readonly notImplemented?: boolean;
  readonly seconds: number;
}

export async function goldenCaseDirs(root: string): Promise<string[]> {
  const entries = await readdir(root);
  const dirs: string[] = [];
  for (const e of entries.sort()) {
    const d = join(root, e);
    if ((await stat(d)).isDirectory() && existsSync(join(d, 'case.json'))) dirs.push(d);
  }
  return dirs;
}

export async function runGoldenCase(dir: string): Promise<CaseReport> {
  const t0 = performance.now();
  let c: GoldenCase;
  try {
    c = await GoldenCase.open(dir);
  } catch (e) {
    return { case: dir, dir, checks: [], error: `cannot read case.json: ${(e as Error).message}`, seconds: 0 };
  }
  const load = GOLDEN_RUNNERS[c.name];
  if (!load) return { case: c.name, dir, checks: [], error: `no runner for golden case "${c.name}"`, notImplemented: true, seconds: 0 };
  try {
    const checks = await (await load())(c);
    const error = checks.length === 0 ? 'the runner made no checks' : undefined;
    return { case: c.name, dir, checks, error, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { case: c.name, dir, checks: [], error: (e as Error).stack ?? String(e), seconds: (performance.now() - t0) / 1000 };
  }
}

export function casePassed(r: CaseReport): boolean {
  return !r.error && r.checks.every((c) => c.pass);
}
