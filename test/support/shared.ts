// Locates ../shared (golden tensors and data) and decides what a missing prerequisite means. Normally a test that
// needs something absent (../shared, Chromium, Pillow, a tmpfs mount) skips with a clear message, so a user's fresh
// clone passes. In strict mode (REFSR_STRICT=1, set by .ci/run) every missing prerequisite is also a failing test,
// so CI cannot go green with an area unchecked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.REFSR_SHARED ?? resolve(repoRoot, '..', 'shared');
export const goldenDir = join(sharedDir, 'golden');
export const dataDir = join(sharedDir, 'data');
export const strictMode = process.env.REFSR_STRICT === '1';

const reported = new Set<string>();

/**
 * `false` (run the test) when `ok`; otherwise the skip message. In strict mode a missing prerequisite also
 * registers one failing test (once per message and process) that names it.
 */
export function prerequisite(ok: boolean, message: string): string | false {
  if (ok) return false;
  if (strictMode && !reported.has(message)) {
    reported.add(message);
    test(`strict mode (REFSR_STRICT=1): prerequisite present: ${message}`, () => {
      assert.fail(`missing prerequisite in strict mode: ${message}`);
    });
  }
  return message;
}

export const hasGolden = existsSync(join(goldenDir, 'README.md'));
export const hasData = existsSync(dataDir);
export const goldenSkip = prerequisite(hasGolden, `../shared/golden not found at ${goldenDir}; golden parity tests skipped`);
export const dataSkip = prerequisite(hasData, `../shared/data not found at ${dataDir}; tests on shared data skipped`);
export { repoRoot };
