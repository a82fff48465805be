// The task-level library API (issue 14, item 2): createUpscaler once, upscale with paths, Buffers or decoded images
// (same result), progress and cancellation, dispose; options checked before any work with messages that name the
// API option; every error a RefsrError; the entry points export what the README shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createUpscaler, readImageFile, RefsrError, UpscaleOptionError, UpscaleInputError, ImageInputError, UpscalerStateError, ModelNotFoundError, type Upscaler } from '../src/index.ts';
import * as core from '../src/core.ts';
import * as errors from '../src/errors/index.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';

const dir = tempDir('refsr-api-');
const lr = join(dir, 'lr.png');
const ref = join(dir, 'ref.png');
let up: Upscaler;

before(async () => {
  await save(lr, scene(24, 20, 1));
  await save(ref, scene(60, 44, 2));
  up = await createUpscaler({ model: await writeTinyModelFile(), threads: 1 });
});
after(() => up.dispose());

test('paths, Buffers and decoded images give the same 4x image; progress is reported per stage', async () => {
  const stages = new Set<string>();
  const a = await up.upscale(lr, ref, { onProgress: (p) => { stages.add(p.stage); assert.ok(p.fraction >= 0 && p.fraction <= 1); } });
  assert.deepEqual([a.width, a.height], [96, 80]);
  assert.deepEqual([...stages].sort(), ['features', 'matching', 'restoration']);
  const b = await up.upscale(readFileSync(lr), [readFileSync(ref)]);
  const c = await up.upscale(await readImageFile(lr), [{ image: await readImageFile(ref), name: 'ref.png' }]);
  assert.deepEqual(b.image.data, a.image.data);
  assert.deepEqual(c.image.data, a.image.data);
  assert.equal(a.referenceScores.length, 1);
  assert.ok(Number.isFinite(a.referenceScores[0]));
  const png = await a.encode();
  assert.deepEqual([...png.subarray(1, 4)].map((x) => String.fromCharCode(x)).join(''), 'PNG');
  await a.save(join(dir, 'sr.jpg'), { quality: 80 });
  assert.equal(readFileSync(join(dir, 'sr.jpg'))[0], 0xff);
});

test('an aborted signal cancels; options are checked before any work and named as API options', async () => {
  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(up.upscale(lr, ref, { signal: ctrl.signal }), { name: 'AbortError' });
  await assert.rejects(up.upscale(lr, ref, { tile: 0 }), (e: unknown) => e instanceof UpscaleOptionError && e instanceof RefsrError && e.option === 'tile' && /^the tile option must be/.test(e.message));
  await assert.rejects(up.upscale(lr, ref, { maxInputPixels: 100 }), (e: unknown) => e instanceof UpscaleInputError && /lr\.png: input is 24x20.*raise the maxInputPixels option/.test(e.message));
  await assert.rejects(up.upscale(Buffer.from('nope'), ref), (e: unknown) => e instanceof ImageInputError && /^input: /.test(e.message));
  await assert.rejects(up.upscale(lr, []), RefsrError);
  await assert.rejects(createUpscaler({ model: 'no-such-model' }), (e: unknown) => e instanceof ModelNotFoundError && /the model option/.test(e.message));
});

test('dispose: later calls fail with UpscalerStateError', async () => {
  const other = await createUpscaler({ model: await writeTinyModelFile(), threads: 1 });
  await other.dispose();
  await assert.rejects(other.upscale(lr, ref), UpscalerStateError);
});

test('every exported error class is a RefsrError with its own name; refsr/core keeps the lower-level API', () => {
  const classes = Object.entries(errors);
  assert.ok(classes.length >= 18);
  for (const [name, C] of classes) {
    assert.equal((C as { name: string }).name, name);
    if (name !== 'RefsrError') assert.ok((C as { prototype: object }).prototype instanceof RefsrError, `${name} extends RefsrError`);
  }
  for (const k of ['RefSRModel', 'upscale', 'runProtocol', 'readImageFile', 'writeImage', 'measure', 'matchExact', 'referenceScore']) assert.ok(k in core, `refsr/core exports ${k}`);
});
