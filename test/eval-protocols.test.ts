// Every `refsr eval` protocol end to end on tiny synthetic folders with the seeded tiny model: the library run
// (bicubic baseline in the same run, per-level means, the self reference of Urban100) and the command line (CSV,
// JSON, HTML, --limit, --all-levels, --pairs, clear errors for malformed folders, no stack traces).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listPairs } from '../src/eval/datasets.ts';
import { evaluate, reportCsv, selfReference, CSV_HEADER } from '../src/eval/evaluate.ts';
import { readImageFile } from '../src/image/decode.ts';
import { prepareProtocol } from '../src/pipeline/protocol.ts';
import { crop } from '../src/image/layout.ts';
import { measure } from '../src/metrics/index.ts';
import { refsr } from './support/cli.ts';
import { tinyModel, writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { makeCufed5, makeImageSet, makeWrsr } from './support/eval-fixtures.ts';


const root = tempDir('refsr-evalp-');
const wrsr = join(root, 'wrsr');
const cufed = join(root, 'cufed5');
const sisr = join(root, 'sisr');
let modelFile = '';

// Inputs of every test below (a hook, not a test: each test runs on its own).
before(async () => {
  await makeWrsr(wrsr, 2);
  await makeCufed5(cufed, 2);
  await makeImageSet(sisr, 3);
  modelFile = await writeTinyModelFile();
});

test('library: every protocol runs; bicubic baseline is the protocol\'s own bicubic; levels are summarised', async () => {
  const model = tinyModel();
  try {
    const meta = (protocol: 'wrsr' | 'cufed5' | 'urban100' | 'manga109' | 'pairs') => ({ protocol, dataset: 'tiny', model: 'tiny' });
    const w = await evaluate(model, listPairs(wrsr, 'wrsr'), meta('wrsr'));
    assert.equal(w.images, 2);
    for (const r of w.perImage) {
      assert.ok(Number.isFinite(r.refsr.psnrY) && Number.isFinite(r.bicubic.psnrY) && r.seconds > 0);
      assert.ok(r.stages.matching >= 0 && r.stages.restoration > 0);
    }
    // The bicubic baseline is the protocol chain's upsampled input, measured on the files (the chain itself is checked
    // against Pillow's in image-resize-pillow.test.ts, and against the golden pipeline's LR).
    const hr = await readImageFile(join(wrsr, 'input', '001.png'));
    const ref = await readImageFile(join(wrsr, 'ref', '001_ref.png'));
    const inp = prepareProtocol(hr, ref);
    assert.deepEqual(w.perImage[0]!.bicubic, measure(crop(inp.up, 0, 0, inp.gt.width, inp.gt.height), inp.gt));
    assert.equal(w.mean.bicubic.psnrY, (w.perImage[0]!.bicubic.psnrY + w.perImage[1]!.bicubic.psnrY) / 2);

    const c = await evaluate(model, listPairs(cufed, 'cufed5', { refLevel: 'all' }).filter((p) => p.name === '000'), meta('cufed5'));
    assert.equal(c.images, 5);
    assert.deepEqual(c.byLevel!.map((l) => [l.level, l.images]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
    assert.deepEqual(c.perImage.map((r) => r.ref), ['000_1.png', '000_2.png', '000_3.png', '000_4.png', '000_5.png']);
    const csv = reportCsv(c).split('\n');
    assert.equal(csv[0], CSV_HEADER);
    assert.match(csv[3]!, /^000,32,28,.*,000_3\.png,3,/);

    const u = await evaluate(model, listPairs(sisr, 'urban100'), meta('urban100'), {
      onOutputs: async (_p, r, images) => {
        // The Urban100 reference is the image's own LR upsampled x4.
        assert.equal(r.ref, 'self');
        assert.deepEqual(images.ref, selfReference(images.gt));
        assert.deepEqual(images.ref, images.bicubic);
      },
    });
    assert.equal(u.images, 3);
    const m = await evaluate(model, listPairs(sisr, 'manga109', { seed: 5 }), meta('manga109'));
    assert.ok(m.perImage.every((r) => r.ref !== `${r.name}.png`));
  } finally {
    await model.release();
  }
});

test('cli: cufed5 --all-levels --limit 1 writes JSON, CSV and HTML and prints each level', () => {
  const out = tempDir('refsr-evalo-');
  const r = refsr(['eval', cufed, '--protocol', 'cufed5', '--all-levels', '--limit', '1', '--model', modelFile,
    '--report', join(out, 'r.json'), '--csv', join(out, 'r.csv'), '--html', join(out, 'r.html')]);
  assert.equal(r.code, 0, r.stderr);
  for (const l of [1, 2, 3, 4, 5]) assert.match(r.stdout, new RegExp(`^level ${l}: 1 images  refsr PSNR-Y \\d+\\.\\d+ dB`, 'm'));
  assert.match(r.stdout, /^5 images {2}refsr PSNR-Y/m);
  assert.match(r.stderr, /000 L3 +3\/5 {2}PSNR-Y/, 'per-image progress lines');
  const j = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8'));
  assert.equal(j.byLevel.length, 5);
  assert.deepEqual(j.options, { refLevel: 'all', limit: 1 });
  assert.equal(readFileSync(join(out, 'r.csv'), 'utf8').trim().split('\n').length, 6);
  const html = readFileSync(join(out, 'r.html'), 'utf8');
  assert.equal(html.match(/alt="refsr crop"/g)?.length, 5);
});

test('cli: pairs file (protocol implied), urban100 and manga109 with --seed', () => {
  const out = tempDir('refsr-evalo-');
  writeFileSync(join(wrsr, 'WR-SR_pairs.txt'), '002.png 002_ref.png\n001.png 001_ref.png\n');
  const p = refsr(['eval', wrsr, '--pairs', join(wrsr, 'WR-SR_pairs.txt'), '--model', modelFile, '--report', join(out, 'p.json'), '-q']);
  assert.equal(p.code, 0, p.stderr);
  const pj = JSON.parse(readFileSync(join(out, 'p.json'), 'utf8'));
  assert.equal(pj.protocol, 'pairs');
  assert.deepEqual(pj.perImage.map((r: { name: string }) => r.name), ['002', '001']);
  const u = refsr(['eval', sisr, '--protocol', 'urban100', '--limit', '2', '--model', modelFile, '--report', join(out, 'u.json'), '-q']);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /^2 images/m);
  const m = refsr(['eval', sisr, '--protocol', 'manga109', '--seed', '7', '--model', modelFile, '--report', join(out, 'm.json'), '-q']);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'm.json'), 'utf8')).options.seed, 7);
});

test('cli: malformed folders and option misuse give one clear line, exit 1, nothing written', () => {
  const out = tempDir('refsr-evalo-');
  const cases: [string[], RegExp][] = [
    [['eval', wrsr, '--protocol', 'cufed5'], /no cufed5 pairs found \(expected NNN_0\.png/],
    [['eval', cufed, '--protocol', 'wrsr'], /not a WR-SR folder/],
    [['eval', wrsr, '--protocol', 'wrsr', '--all-levels'], /--all-levels applies to the cufed5 protocol only/],
    [['eval', wrsr, '--pairs', join(wrsr, 'missing.txt')], /pairs file .*missing\.txt cannot be read/],
    [['eval', join(root, 'nope'), '--protocol', 'urban100'], /dataset folder not found/],
  ];
  for (const [args, message] of cases) {
    const r = refsr([...args, '--model', modelFile, '--report', join(out, 'x.json')]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  }
  assert.ok(!existsSync(join(out, 'x.json')));
  assert.equal(refsr(['eval', wrsr, '--model', modelFile]).code, 2, 'no protocol and no pairs file is a usage error');
});

test('cli: --shuffle-refs gives each image another image\'s reference and refuses a run with a single image', () => {
  const out = tempDir('refsr-evalo-');
  const r = refsr(['eval', wrsr, '--protocol', 'wrsr', '--shuffle-refs', '--model', modelFile, '--report', join(out, 's.json'), '-q']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(join(out, 's.json'), 'utf8'));
  assert.deepEqual(j.perImage.map((x: { name: string; ref: string }) => [x.name, x.ref]), [['001', '002_ref.png'], ['002', '001_ref.png']]);
  assert.equal(j.options.shuffleRefs, true);
  // With one image there is no other reference: an error, not a silent run with its own reference.
  const one = refsr(['eval', wrsr, '--protocol', 'wrsr', '--shuffle-refs', '--limit', '1', '--model', modelFile, '--report', join(out, 'one.json'), '-q']);
  assert.equal(one.code, 1, one.stderr);
  assert.match(one.stderr, /--shuffle-refs needs at least two different images.*only 001/);
  assert.ok(!existsSync(join(out, 'one.json')));
  // CUFED5 with every level lists each image five times: the partner is another image, not the same one's next level.
  const c = refsr(['eval', cufed, '--protocol', 'cufed5', '--all-levels', '--shuffle-refs', '--model', modelFile, '--report', join(out, 'c.json'), '-q']);
  assert.equal(c.code, 0, c.stderr);
  const cj = JSON.parse(readFileSync(join(out, 'c.json'), 'utf8'));
  for (const x of cj.perImage as { name: string; ref: string }[]) assert.ok(!x.ref.startsWith(`${x.name}_`), `${x.name} got its own reference ${x.ref}`);
  const cOne = refsr(['eval', cufed, '--protocol', 'cufed5', '--all-levels', '--limit', '1', '--shuffle-refs', '--model', modelFile, '--report', join(out, 'c1.json'), '-q']);
  assert.equal(cOne.code, 1, 'five levels of one image are still a single image');
});

test('cli: eval --low-memory reports the same numbers', () => {
  const out = tempDir('refsr-evalo-');
  const run = (extra: string[], name: string) => {
    const r = refsr(['eval', wrsr, '--protocol', 'wrsr', '--model', modelFile, '--report', join(out, name), '-q', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(join(out, name), 'utf8')) as { perImage: { refsr: unknown; bicubic: unknown }[] };
  };
  const plain = run([], 'plain.json');
  const low = run(['--low-memory'], 'low.json');
  assert.deepEqual(low.perImage.map((x) => [x.refsr, x.bicubic]), plain.perImage.map((x) => [x.refsr, x.bicubic]));
});
