// Every golden case in ../shared/golden through the same runner as `npm run golden`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { goldenDir, goldenSkip } from './support/shared.ts';
import { runGoldenCase, casePassed } from '../src/golden/run-golden.ts';

const cases = goldenSkip ? [] : readdirSync(goldenDir).filter((d) => existsSync(join(goldenDir, d, 'case.json'))).sort();

test('golden cases are present', { skip: goldenSkip }, () => {
  assert.ok(cases.length >= 8, `expected the golden cases, found ${cases.join(', ')}`);
});

for (const name of cases) {
  test(`golden ${name}`, async () => {
    const r = await runGoldenCase(join(goldenDir, name));
    const failures = r.checks.filter((c) => !c.pass).map((c) => `${c.name}: error ${c.error} > ${c.bound} ${c.detail ?? ''}`);
    assert.ok(casePassed(r), `golden ${name} failed:\n${r.error ?? ''}\n${failures.join('\n')}`);
  });
}
