// Locates ../shared (golden tensors and data). Tests that need it skip with a clear message when it is absent.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.REFSR_SHARED ?? resolve(repoRoot, '..', 'shared');
export const goldenDir = join(sharedDir, 'golden');
export const dataDir = join(sharedDir, 'data');
export const hasGolden = existsSync(join(goldenDir, 'README.md'));
export const hasData = existsSync(dataDir);
export const goldenSkip = hasGolden ? false : `../shared/golden not found at ${goldenDir}; golden parity tests skipped`;
export const dataSkip = hasData ? false : `../shared/data not found at ${dataDir}; tests on shared data skipped`;
export { repoRoot };
