// Batch mode (issue 14, item 6): `refsr upscale DIR --ref REF -o OUTDIR` upscales every image of a folder with one
// model load, skips and reports unreadable files (exit 1 after the summary), names outputs after the inputs, and
// refuses an output folder equal to the input folder.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { refsr } from './support/cli.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';

const dir = tempDir('refsr-batch-');
const inDir = join(dir, 'photos');
const ref = join(dir, 'ref.png');
let model = '';

before(async () => {
  mkdirSync(inDir);
  await save(join(inDir, 'a.png'), scene(24, 20, 1));
  await save(join(dir, 'b.png'), scene(20, 16, 3));
  await sharp(join(dir, 'b.png')).jpeg().toFile(join(inDir, 'b.jpg'));
  writeFileSync(join(inDir, 'broken.png'), 'not a png');
  writeFileSync(join(inDir, 'notes.txt'), 'shot on a sunny day');
  await save(join(inDir, 'tiny.png'), scene(4, 4, 5));
  await save(ref, scene(60, 44, 2));
  model = await writeTinyModelFile();
});

test('a folder in, a folder out: every readable image upscaled, unreadable files skipped and listed, exit 1', async () => {
  const out = join(dir, 'out');
  const r = refsr(['upscale', inDir, '--ref', ref, '-o', out, '--model', model, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['a.png', 'b.png']);
  assert.deepEqual(await sharp(join(out, 'a.png')).metadata().then((m) => [m.width, m.height]), [96, 80]);
  assert.deepEqual(await sharp(join(out, 'b.png')).metadata().then((m) => [m.width, m.height]), [80, 64]);
  for (const f of ['broken.png', 'notes.txt', 'tiny.png']) assert.match(r.stderr, new RegExp(`skipped .*${f.replace('.', '\\.')}: `), f);
  assert.equal(r.stderr.match(/loaded model /g)?.length, 1, 'one model load for all images');
  assert.match(r.stderr, /upscaled 2 of 5 files into .*out; skipped: broken\.png, notes\.txt, tiny\.png/);
  assert.match(r.stderr, /refsr: .*photos: 3 of 5 files could not be upscaled and were skipped/);
  const summary = JSON.parse(r.stdout) as { images: { output: string }[]; skipped: { input: string }[] };
  assert.equal(summary.images.length, 2);
  assert.equal(summary.skipped.length, 3);
});

test('batch: the default output folder is DIR_x4, --format sets the output format, and DIR itself is refused', async () => {
  const clean = join(dir, 'clean');
  mkdirSync(clean);
  copyFileSync(join(inDir, 'a.png'), join(clean, 'a.png'));
  const r = refsr(['upscale', clean, '--ref', ref, '--model', model, '-q', '--format', 'webp']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await sharp(join(dir, 'clean_x4', 'a.webp')).metadata()).format, 'webp');
  const same = refsr(['upscale', clean, '--ref', ref, '--model', model, '-o', clean]);
  assert.equal(same.code, 2);
  assert.match(same.stderr, /is the input folder/);
  const stdout = refsr(['upscale', clean, '--ref', ref, '--model', model, '-o', '-']);
  assert.equal(stdout.code, 2);
  assert.ok(!existsSync(join(clean, 'a_x4.png')));
});
