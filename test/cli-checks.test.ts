// `refsr upscale` checks its options and output path before any work (issue 14, item 6): a bad flag value or an
// output folder that does not exist fails at once, with one line naming the flag or the file, exit 2 for usage and 1
// for a file problem, never a stack trace, no model loaded and no progress shown; and every error names its file.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { refsr } from './support/cli.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';

const dir = tempDir('refsr-checks-');
const lr = join(dir, 'lr.png');
const ref = join(dir, 'ref.png');
let model = '';

before(async () => {
  await save(lr, scene(24, 20, 1));
  await save(ref, scene(60, 44, 2));
  model = await writeTinyModelFile();
});

function noWork(r: { stderr: string }): void {
  assert.doesNotMatch(r.stderr, /(features|matching|restoration) \d+%/, 'failed before any work');
  assert.doesNotMatch(r.stderr, /unexpected error|at .*\.(ts|js):\d+/, 'no stack trace');
}

test('bad option values fail before any work, naming the flag (exit 2)', () => {
  const cases: [string[], RegExp][] = [
    [['--tile', '0'], /--tile must be an integer of at least 12/],
    [['--tile', '8', '--overlap', '8'], /--tile must be an integer of at least 12/],
    [['--tile', '16', '--overlap', '16'], /--overlap is out of range: the overlap \(16\) must be smaller than the tile size \(16\)/],
    [['--quality', '0'], /--quality.*not a quality from 1 to 100/],
    [['--threads', '0'], /--threads.*not a positive integer/],
    [['--format', 'gif'], /--format.*choose png, jpg, webp or tif/],
  ];
  for (const [flags, message] of cases) {
    const r = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'out.png'), '--model', model, ...flags]);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    noWork(r);
  }
  assert.ok(!existsSync(join(dir, 'out.png')));
});

test('the output path is checked before any work: missing folder, unknown extension, a folder (exit 1, names the file)', () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'missing', 'dir', 'out.png'), /missing\/dir\/out\.png: the folder .*missing\/dir does not exist/],
    [join(dir, 'out.gif'), /out\.gif: cannot write "\.gif" images/],
    [dir, /is a folder; give a file name/],
  ];
  for (const [out, message] of cases) {
    const t0 = performance.now();
    const r = refsr(['upscale', lr, '--ref', ref, '-o', out, '--model', model]);
    assert.equal(r.code, 1, `${out}: ${r.stderr}`);
    assert.match(r.stderr, message);
    noWork(r);
    assert.ok(performance.now() - t0 < 20_000);
  }
});

test('every upscale error names the file it is about (a too-small input, a missing reference, an unknown model)', async () => {
  const tiny = join(dir, 'tiny.png');
  await save(tiny, scene(3, 3, 4));
  const small = refsr(['upscale', tiny, '--ref', ref, '-o', join(dir, 't.png'), '--model', model]);
  assert.equal(small.code, 1, small.stderr);
  assert.match(small.stderr, /^refsr: .*tiny\.png: input is 3x3; it must be at least 12x12 px$/m);
  const missing = refsr(['upscale', lr, '--ref', join(dir, 'nope.jpg'), '-o', join(dir, 't.png'), '--model', model]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.jpg: reference not found/);
  noWork(missing);
  const unknown = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 't.png'), '--model', 'no-such-model']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown model "no-such-model"; bundled models: .*default/);
  assert.match(unknown.stderr, /--model/, 'the library\'s "model option" is named by its flag');
});
