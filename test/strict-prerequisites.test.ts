// Strict mode's own checks: prerequisites that no other test can see as a skip. The tfjs wasm backend silently
// falls back to the ~25x slower cpu backend when it cannot start (the training tests still pass, on the wrong
// backend); in strict mode that is a failure. Outside strict mode the fallback is reported as a skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strictMode, sharedDir, hasGolden, hasData } from './support/shared.ts';

test('the tfjs training backend is wasm (no fallback to cpu)', async (t) => {
  const { initTfjs } = await import('../src/training/tfjs-backend.ts');
  const warnings: string[] = [];
  const backend = await initTfjs({ warn: (m) => warnings.push(m) });
  if (backend === 'wasm') return;
  const message = `tfjs fell back to the ${backend} backend: ${warnings.join('; ') || 'REFSR_TF_BACKEND asks for it'}`;
  if (strictMode) assert.fail(`strict mode: ${message}`);
  t.skip(message);
});

test('strict mode sees ../shared (golden tensors and data)', (t) => {
  if (!strictMode) { t.skip(`not strict (REFSR_STRICT unset): ../shared ${hasGolden && hasData ? 'present' : 'absent'} at ${sharedDir}`); return; }
  assert.ok(hasGolden, `strict mode: no golden tensors under ${sharedDir}`);
  assert.ok(hasData, `strict mode: no data under ${sharedDir}`);
});
