// Where `refsr upscale` writes (issue 14, item 6): without -o, NAME_x4.png next to the input; -o - writes PNG (or
// --format) to stdout; -o equal to the input or a reference is refused (exit 2, input untouched); the output format
// follows the extension, with --quality for JPEG and WebP.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import sharp from 'sharp';
import { refsr } from './support/cli.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';

const dir = tempDir('refsr-output-');
const lr = join(dir, 'photo.png');
const ref = join(dir, 'ref.png');
let model = '';

before(async () => {
  await save(lr, scene(24, 20, 1));
  await save(ref, scene(60, 44, 2));
  model = await writeTinyModelFile();
});

test('without -o the output is NAME_x4.png next to the input', async () => {
  const r = refsr(['upscale', lr, '--ref', ref, '--model', model, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const out = join(dir, 'photo_x4.png');
  const m = await sharp(out).metadata();
  assert.deepEqual([m.format, m.width, m.height], ['png', 96, 80]);
});

test('-o - writes the PNG to stdout (nothing named "-"), --format jpg writes JPEG there', async () => {
  const r = refsr(['upscale', lr, '--ref', ref, '--model', model, '-q', '-o', '-'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const m = await sharp(r.stdoutBytes!).metadata();
  assert.deepEqual([m.format, m.width, m.height], ['png', 96, 80]);
  assert.ok(!existsSync(join(dir, '-')), 'no file named -');
  const j = refsr(['upscale', lr, '--ref', ref, '--model', model, '-q', '-o', '-', '--format', 'jpg'], { cwd: dir });
  assert.equal(j.code, 0);
  assert.equal((await sharp(j.stdoutBytes!).metadata()).format, 'jpeg');
});

test('-o equal to the input (or a reference) is refused with exit 2 and the input is untouched', () => {
  const before = readFileSync(lr);
  const same = refsr(['upscale', lr, '--ref', ref, '--model', model, '-o', lr]);
  assert.equal(same.code, 2, same.stderr);
  assert.match(same.stderr, /photo\.png is the input file; refsr never overwrites its input/);
  assert.deepEqual(readFileSync(lr), before);
  const viaDots = refsr(['upscale', lr, '--ref', ref, '--model', model, '-o', join(dir, '.', 'photo.png')]);
  assert.equal(viaDots.code, 2);
  const onRef = refsr(['upscale', lr, '--ref', ref, '--model', model, '-o', ref]);
  assert.equal(onRef.code, 2);
  assert.match(onRef.stderr, /is a reference file/);
});

test('the format follows the extension; --quality sets the JPEG quality; --format must agree with a file name', async () => {
  for (const [name, format] of [['o.jpg', 'jpeg'], ['o.webp', 'webp'], ['o.tif', 'tiff'], ['o.png', 'png']] as const) {
    const r = refsr(['upscale', lr, '--ref', ref, '--model', model, '-q', '-o', join(dir, name)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sharp(join(dir, name)).metadata()).format, format, name);
  }
  copyFileSync(join(dir, 'o.jpg'), join(dir, 'q95.jpg'));
  const r = refsr(['upscale', lr, '--ref', ref, '--model', model, '-q', '-o', join(dir, 'q20.jpg'), '--quality', '20']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(statSync(join(dir, 'q20.jpg')).size < statSync(join(dir, 'q95.jpg')).size, 'quality 20 is smaller than the default 95');
  const clash = refsr(['upscale', lr, '--ref', ref, '--model', model, '-o', join(dir, 'x.png'), '--format', 'jpg']);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--format jpeg disagrees with the extension/);
  const help = refsr(['upscale', '--help']);
  assert.match(help.stdout, /the extension sets the format/);
  assert.match(help.stdout, /--quality/);
});
