// Temp folders of the tests: one fresh folder per call under the system temp dir, all removed when the test process
// exits (kept apart from the model fixtures; every test that writes files uses it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const madeDirs: string[] = [];
process.on('exit', () => {
  for (const d of madeDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort: never fail a run over cleanup */ }
  }
});

/** A fresh folder under the system temp dir, removed when the test process exits. */
export function tempDir(prefix = 'refsr-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(d);
  return d;
}
