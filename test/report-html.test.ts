// The self-contained HTML report of an eval run: built from a real tiny evaluation with thumbnails, no external
// resources, names escaped, written atomically, and rendered by headless Chromium (skipped with a message when no
// chromium binary is installed) into a screenshot that is not blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { evaluate, summarize } from '../src/eval/evaluate.ts';
import { listPairs } from '../src/eval/datasets.ts';
import { makeThumbnails, detailWindow, type Thumbnails } from '../src/report/thumbnails.ts';
import { renderEvalHtml, thumbnailKey, writeEvalHtml } from '../src/report/eval-html.ts';
import { rgbImage } from '../src/image/rgb-image.ts';
import { tinyModel } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { makeCufed5 } from './support/eval-fixtures.ts';
import { prerequisite } from './support/shared.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const chromiumSkip = prerequisite(CHROMIUM !== undefined, 'no chromium binary (/usr/bin/chromium); install Debian\'s chromium package to render the HTML report');

const dir = tempDir('refsr-html-');
const htmlPath = join(dir, 'report.html');

test('detail window: the most textured region', () => {
  const img = rgbImage(40, 30);
  for (let y = 10; y < 22; y++) for (let x = 24; x < 36; x++) img.data[(y * 40 + x) * 3] = (x + y) % 2 ? 255 : 0;
  const w = detailWindow(img, 12);
  assert.ok(Math.abs(w.x - 24) <= 3 && Math.abs(w.y - 10) <= 3, JSON.stringify(w));
});

/** The report of a real tiny evaluation, written once per process whichever test asks first (tests run on their own). */
let built: Promise<void> | undefined;
function buildReport(): Promise<void> {
  built ??= (async () => {
    await makeCufed5(join(dir, 'cufed'), 2);
    const model = tinyModel();
    const thumbs = new Map<string, Thumbnails>();
    try {
      const pairs = listPairs(join(dir, 'cufed'), 'cufed5', { refLevel: 'all' }).filter((p) => p.level! <= 2);
      const r = await evaluate(model, pairs, { protocol: 'cufed5', dataset: join(dir, 'cufed'), model: 'tiny' }, {
        onOutputs: async (_p, res, images) => { thumbs.set(thumbnailKey(res), await makeThumbnails(images, { crop: 24 })); },
      });
      await writeEvalHtml(htmlPath, r, thumbs);
    } finally {
      await model.release();
    }
  })();
  return built;
}

test('report: tables, charts, embedded thumbnails, no external resources, escaped names, atomic write', async () => {
  await buildReport();
  const html = readFileSync(htmlPath, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  const figures = html.slice(html.indexOf('id="images"'), html.indexOf('id="pictures"'));
  assert.equal(figures.match(/<tr><td class="l">00\d<\/td>/g)?.length, 4, 'one figures row per image run');
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, 4 * 5, 'five pictures per run');
  assert.equal(html.match(/<svg /g)?.length, 3, 'per-image PSNR gain, SSIM and per-level gain charts');
  assert.match(html, /id="levels"/);
  assert.doesNotMatch(html, /(src|href)="(https?:|\/\/|file:)/, 'self-contained');
  assert.doesNotMatch(html, /<script|<link /);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  // Names from the dataset are escaped.
  const evil = summarize([{ name: '<img src=x onerror=alert(1)>', ref: 'r&d.png', size: [8, 8], refsr: { psnrRgb: 1, psnrY: 1, ssimY: 0.5 }, bicubic: { psnrRgb: 1, psnrY: 1, ssimY: 0.5 }, seconds: 1, stages: { features: 0, matching: 0, restoration: 1 } }], { protocol: 'pairs', dataset: 'd', model: 'm' });
  const e = renderEvalHtml(evil);
  assert.ok(!e.includes('<img src=x') && e.includes('&lt;img src=x onerror=alert(1)&gt;') && e.includes('r&amp;d.png'));
});

test('report renders in headless Chromium', { skip: chromiumSkip }, async () => {
  await buildReport();
  assert.ok(existsSync(htmlPath));
  const shot = join(dir, 'screenshot.png');
  const r = spawnSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
    `--user-data-dir=${join(dir, 'chromium-profile')}`, '--window-size=1280,1600', '--hide-scrollbars', `--screenshot=${shot}`, `file://${htmlPath}`], { encoding: 'utf8', timeout: 120_000 });
  assert.ok(existsSync(shot), `chromium wrote no screenshot (exit ${r.status}): ${r.stderr.slice(-500)}`);
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [1280, 1600]);
  // Not blank: many distinct colours (text, red/grey bars, thumbnails).
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 3 * 7) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
  assert.ok(colours.size > 200, `${colours.size} distinct colours in the screenshot`);
  // The red of the refsr bars is on screen (the charts rendered).
  let red = 0;
  for (let i = 0; i < data.length; i += 3) if (data[i] === 0xd6 && data[i + 1] === 0x27 && data[i + 2] === 0x28) red++;
  assert.ok(red > 500, `${red} pixels of the refsr bar colour`);
  process.env.REFSR_KEEP_SCREENSHOT && console.log(`screenshot: ${shot}`);
});
