// Dataset layouts of `refsr eval` on tiny synthetic folders: every protocol lists the right (input, reference)
// pairs, CUFED5 levels, the pairs file format of the reference implementation, the SISR-set conventions (Urban100
// self reference, Manga109 seeded random other image), --limit over levels, and a clear DatasetError for each kind
// of malformed folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DatasetError, listPairs, parsePairsFile } from '../src/eval/datasets.ts';
import { limitPairs } from '../src/cli/commands/eval.ts';
import { tempDir } from './support/temp.ts';

// Listing only looks at names, so the files need not be real images here.
function touch(dir: string, ...names: string[]): void {
  for (const n of names) {
    mkdirSync(join(dir, n, '..'), { recursive: true });
    writeFileSync(join(dir, n), 'x');
  }
}

test('wrsr: input/NNN with ref/NNN_ref, sorted; a missing reference is named', () => {
  const d = tempDir('refsr-wrsr-');
  touch(d, 'input/002.png', 'input/001.png', 'ref/001_ref.png', 'ref/002_ref.jpg', 'input/notes.txt');
  const pairs = listPairs(d, 'wrsr');
  assert.deepEqual(pairs.map((p) => [p.name, basename(p.hr), basename(p.ref)]), [['001', '001.png', '001_ref.png'], ['002', '002.png', '002_ref.jpg']]);
  touch(d, 'input/003.png');
  assert.throws(() => listPairs(d, 'wrsr'), (e: Error) => e instanceof DatasetError && /no reference in ref\/ for 003\.png/.test(e.message));
  assert.throws(() => listPairs(tempDir(), 'wrsr'), /not a WR-SR folder \(expected input\/NNN\.png and ref\/NNN_ref\.png\)/);
});

test('cufed5: reference level 1 by default, any level, or all five with the level recorded', () => {
  const d = tempDir('refsr-cufed-');
  for (const n of ['000', '001']) touch(d, ...[0, 1, 2, 3, 4, 5].map((l) => `${n}_${l}.png`));
  assert.deepEqual(listPairs(d, 'cufed5').map((p) => [p.name, basename(p.ref), p.level]), [['000', '000_1.png', 1], ['001', '001_1.png', 1]]);
  assert.deepEqual(listPairs(d, 'cufed5', { refLevel: 4 }).map((p) => basename(p.ref)), ['000_4.png', '001_4.png']);
  const all = listPairs(d, 'cufed5', { refLevel: 'all' });
  assert.equal(all.length, 10);
  assert.deepEqual(all.map((p) => p.level), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  // --limit counts inputs: the first input at every level.
  const limited = limitPairs(all, 1);
  assert.deepEqual(limited.map((p) => [p.name, p.level]), [1, 2, 3, 4, 5].map((l) => ['000', l]));
  assert.throws(() => listPairs(d, 'cufed5', { refLevel: 6 }), /level must be 1\.\.5, got 6/);
  touch(d, '002_0.png', '002_1.png');
  assert.throws(() => listPairs(d, 'cufed5', { refLevel: 'all' }), /missing level-2 CUFED5 references 002_2/);
  assert.throws(() => listPairs(tempDir(), 'cufed5'), /no cufed5 pairs found \(expected NNN_0\.png/);
});

test('pairs file: the reference implementation\'s format, roots inferred or given, errors with line numbers', () => {
  assert.deepEqual(parsePairsFile('# header\n001.png 001_ref.png\n\n  002.png\t002_ref.png  \r\n', 'p.txt').map((e) => [e.input, e.ref, e.line]), [['001.png', '001_ref.png', 2], ['002.png', '002_ref.png', 4]]);
  assert.throws(() => parsePairsFile('a.png b.png\nonly-one.png\n', 'p.txt'), (e: Error) => e instanceof DatasetError && /p\.txt:2: expected "INPUT REF".*1 field/.test(e.message));
  // WR-SR_pairs.txt style: names relative to DIR/input and DIR/ref.
  const w = tempDir('refsr-pairs-');
  touch(w, 'input/001.png', 'ref/001_ref.png', 'input/002.png', 'ref/002_ref.png');
  writeFileSync(join(w, 'WR-SR_pairs.txt'), '001.png 001_ref.png\n002.png 002_ref.png\n');
  const wp = listPairs(w, 'pairs', { pairsFile: join(w, 'WR-SR_pairs.txt') });
  assert.deepEqual(wp.map((p) => [p.name, p.hr, p.ref]), [['001', join(w, 'input', '001.png'), join(w, 'ref', '001_ref.png')], ['002', join(w, 'input', '002.png'), join(w, 'ref', '002_ref.png')]]);
  // CUFED5_pairs.txt style: both relative to DIR itself (no input/ or ref/ there); repeated inputs get unique names.
  const c = tempDir('refsr-pairs-');
  touch(c, '000_0.png', '000_1.png', 'refs/x.png');
  writeFileSync(join(c, 'pairs.txt'), '000_0.png 000_1.png\n000_0.png refs/x.png\n');
  assert.deepEqual(listPairs(c, 'pairs', { pairsFile: join(c, 'pairs.txt') }).map((p) => [p.name, basename(p.ref)]), [['000_0', '000_1.png'], ['000_0~2', 'x.png']]);
  // Explicit roots.
  writeFileSync(join(c, 'rooted.txt'), '000_0.png x.png\n');
  assert.deepEqual(listPairs(c, 'pairs', { pairsFile: join(c, 'rooted.txt'), refRoot: join(c, 'refs') }).map((p) => p.ref), [join(c, 'refs', 'x.png')]);
  // Missing files are listed with their line; an unreadable pairs file is a DatasetError too.
  writeFileSync(join(c, 'bad.txt'), '000_0.png 000_1.png\n000_0.png nope.png\n');
  assert.throws(() => listPairs(c, 'pairs', { pairsFile: join(c, 'bad.txt') }), /files not found under .*: nope\.png \(line 2\)/);
  assert.throws(() => listPairs(c, 'pairs', { pairsFile: join(c, 'absent.txt') }), (e: Error) => e instanceof DatasetError && /pairs file .*absent\.txt cannot be read \(ENOENT\)/.test(e.message));
  assert.throws(() => listPairs(c, 'pairs'), /needs a pairs file \(the pairsFile option\)/);
});

test('urban100: every image is its own (self-upsampled) reference; HR/ subfolder accepted', () => {
  const d = tempDir('refsr-urban-');
  touch(d, 'HR/img_002.png', 'HR/img_001.png');
  const pairs = listPairs(d, 'urban100');
  assert.deepEqual(pairs.map((p) => [p.name, p.refSource, p.ref === p.hr]), [['img_001', 'self-upsampled', true], ['img_002', 'self-upsampled', true]]);
  assert.throws(() => listPairs(tempDir(), 'urban100'), /no urban100 pairs found \(expected a folder of images/);
});

test('manga109: a seeded random other image as reference, reproducible, never itself', () => {
  const d = tempDir('refsr-manga-');
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  touch(d, ...names.map((n) => `${n}.png`));
  const one = listPairs(d, 'manga109', { seed: 3 });
  assert.deepEqual(listPairs(d, 'manga109', { seed: 3 }), one, 'same seed, same references');
  for (const p of one) assert.notEqual(p.ref, p.hr);
  const refsBySeed = [1, 2, 3, 4, 5].map((seed) => listPairs(d, 'manga109', { seed }).map((p) => basename(p.ref)).join());
  assert.ok(new Set(refsBySeed).size > 1, 'the seed changes the choice');
  const single = tempDir('refsr-manga-');
  touch(single, 'only.png');
  assert.throws(() => listPairs(single, 'manga109'), /needs at least two images/);
});

test('a missing dataset folder is a DatasetError', () => {
  assert.throws(() => listPairs('/no/such/folder', 'wrsr'), (e: Error) => e instanceof DatasetError && /dataset folder not found: \/no\/such\/folder/.test(e.message));
});
