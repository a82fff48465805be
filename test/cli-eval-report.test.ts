// `refsr eval` writes its reports only where asked (issue 14, item 6): nothing lands in the current folder by
// default; --report/--html write where told, and a report path in a missing folder fails before the model runs.
// The HTML report fits a 1200 px window (no chart wider than MAX_CHART_WIDTH, page width capped), labels each kind
// of picture once (column headers, no per-picture captions), and charts PSNR as the gain over bicubic from 0.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { refsr } from './support/cli.ts';
import { makeWrsr } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { MAX_CHART_WIDTH } from '../src/report/eval-html.ts';

const dir = tempDir('refsr-evalrep-');
const ds = join(dir, 'wrsr');
let model = '';

before(async () => {
  await makeWrsr(ds, 2);
  model = await writeTinyModelFile();
});

test('eval writes nothing in the current folder unless asked, and writes reports where asked', () => {
  const cwd = join(dir, 'cwd');
  mkdirSync(cwd);
  const r = refsr(['eval', ds, '--protocol', 'wrsr', '--model', model, '-q'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 images {2}refsr PSNR-Y [\d.]+ dB/);
  assert.deepEqual(readdirSync(cwd), [], 'no eval-report.json dropped in the current folder');
  const html = join(dir, 'r.html');
  const w = refsr(['eval', ds, '--protocol', 'wrsr', '--model', model, '-q', '--report', join(dir, 'r.json'), '--html', html], { cwd });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).images, 2);
  assert.match(w.stdout, /report: .*r\.json, .*r\.html/);

  const page = readFileSync(html, 'utf8');
  const svgWidths = [...page.matchAll(/<svg [^>]*width="(\d+)"/g)].map((m) => Number(m[1]));
  assert.ok(svgWidths.length >= 2 && svgWidths.every((x) => x <= MAX_CHART_WIDTH && MAX_CHART_WIDTH <= 1136), `chart widths ${svgWidths}`);
  assert.match(page, /body\{[^}]*max-width:1136px/, 'the page is capped to fit a 1200 px window');
  assert.doesNotMatch(page, /<figcaption>/, 'no caption repeated under every picture');
  for (const label of ['>reference<', '>bicubic detail<', '>refsr detail<', '>ground-truth detail<']) assert.equal(page.split(label).length - 1, 1, `${label} labelled once`);
  const psnr = page.match(/<svg [\s\S]*?<\/svg>/)![0];
  assert.match(psnr, /PSNR-Y gain of refsr over bicubic/);
  assert.match(psnr, /font-size="10">0<\/text>/, 'the PSNR axis has its 0 (= bicubic) tick');

  const early = refsr(['eval', ds, '--protocol', 'wrsr', '--model', model, '--report', join(dir, 'missing', 'r.json')]);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /missing\/r\.json: the folder .* does not exist/);
  assert.doesNotMatch(early.stderr, /PSNR|eval \d+%/);
});
