// Owns `npm run golden -- DIR [CASE...]`: runs the golden cases in DIR, prints each check's error against its bound
// and PASS/FAIL, and exits non-zero on any failure. A case without a runner is listed as NOT IMPLEMENTED and does
// not by itself make the run fail (a golden folder may hold cases of models still being written).

import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { goldenCaseDirs, runGoldenCase, casePassed } from './run-golden.ts';

async function main(argv: string[]): Promise<number> {
  const [dirArg, ...only] = argv;
  if (!dirArg || dirArg === '--help' || dirArg === '-h') {
    console.error('usage: npm run golden -- DIR [CASE...]   (DIR holds one folder per case, each with case.json)');
    return dirArg ? 0 : 2;
  }
  const dir = resolve(dirArg);
  if (!existsSync(dir)) {
    console.error(`golden directory not found: ${dir}`);
    return 2;
  }
  const dirs = (await goldenCaseDirs(dir)).filter((d) => only.length === 0 || only.some((o) => d.endsWith(`/${o}`)));
  if (dirs.length === 0) {
    console.error(`no golden cases (folders with case.json) in ${dir}`);
    return 2;
  }
  let failed = 0;
  let checks = 0;
  const notImplemented: string[] = [];
  for (const d of dirs) {
    const r = await runGoldenCase(d);
    if (r.notImplemented) {
      notImplemented.push(r.case);
      console.log(`NOT IMPLEMENTED ${r.case} (${r.error})`);
      continue;
    }
    const ok = casePassed(r);
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'} ${r.case} (${r.checks.length} checks, ${r.seconds.toFixed(1)} s)`);
    for (const c of r.checks) {
      checks++;
      console.log(`  ${c.pass ? 'pass' : 'FAIL'} ${c.name.padEnd(34)} error ${fmt(c.error)} <= ${fmt(c.bound)}${c.detail ? `  (${c.detail})` : ''}`);
    }
    if (r.error) console.log(`  ERROR ${r.error.split('\n').slice(0, 6).join('\n        ')}`);
  }
  const ran = dirs.length - notImplemented.length;
  console.log(`golden: ${ran - failed} of ${ran} cases passed, ${checks} checks${notImplemented.length ? `; not implemented: ${notImplemented.join(', ')}` : ''}`);
  return failed ? 1 : 0;
}

function fmt(v: number): string {
  return v === 0 ? '0' : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toPrecision(4);
}

process.exitCode = await main(process.argv.slice(2));
