// Atomic outputs: a cancellable write and a batch of several outputs leave either every file or none, and never a
// temp file, whether the work fails, is cancelled before the rename, or a rename fails half way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/temp.ts';
import { OutputBatch, OutputWriteError, withOutputs, writeFileAtomic } from '../src/io/atomic-write.ts';

test('a batch renames all its files at the end, or none', async () => {
  const dir = tempDir('refsr-atomic-');
  await withOutputs(undefined, async (out) => {
    await out.write(join(dir, 'a.json'), '{}');
    await out.write(join(dir, 'b.csv'), 'x\n');
    assert.deepEqual(readdirSync(dir).filter((f) => !f.endsWith('.tmp')), [], 'nothing under the real names before the commit');
  });
  assert.deepEqual(readdirSync(dir).sort(), ['a.json', 'b.csv']);

  const failed = tempDir('refsr-atomic-');
  await assert.rejects(withOutputs(undefined, async (out) => {
    await out.write(join(failed, 'a.json'), '{}');
    throw new Error('the work failed after the first output');
  }), /work failed/);
  assert.deepEqual(readdirSync(failed), []);
});

test('a cancel before the rename removes the temp file and writes nothing', async () => {
  const dir = tempDir('refsr-atomic-');
  const c = new AbortController();
  c.abort(new Error('cancelled'));
  await assert.rejects(writeFileAtomic(join(dir, 'x.png'), 'data', { signal: c.signal }), /cancelled/);
  const batch = new OutputBatch(c.signal);
  await assert.rejects(batch.write(join(dir, 'y.png'), 'data'), /cancelled/);
  assert.deepEqual(readdirSync(dir), []);
  // Cancelled between staging and the commit: still nothing.
  const late = new AbortController();
  await assert.rejects(withOutputs(late.signal, async (out) => {
    await out.write(join(dir, 'z.json'), '{}');
    late.abort(new Error('cancelled late'));
  }), /cancelled late/);
  assert.deepEqual(readdirSync(dir), []);
});

test('a rename that fails half way leaves no temp file behind and says which file', async () => {
  const dir = tempDir('refsr-atomic-');
  mkdirSync(join(dir, 'blocked'));
  mkdirSync(join(dir, 'blocked', 'inside')); // renaming a file over a non-empty folder fails
  await assert.rejects(withOutputs(undefined, async (out) => {
    await out.write(join(dir, 'first.json'), '1');
    await out.write(join(dir, 'blocked'), '2');
    await out.write(join(dir, 'third.json'), '3');
  }), (e: unknown) => e instanceof OutputWriteError && /blocked: cannot write/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file of the blocked or the later outputs');
  assert.ok(!existsSync(join(dir, 'third.json')));
  assert.equal(readFileSync(join(dir, 'first.json'), 'utf8'), '1', 'files renamed before the failure stay (a rename cannot be undone)');
});
