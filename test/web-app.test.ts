// The browser app in a real browser: Debian's chromium, driven headless by playwright-core (the system browser, no
// browser download), loads the built page from the loopback server with its isolation headers, gets the example
// pair through the file pickers, and its downloaded PNG must equal the Node output within one level on at least
// 99.9% of pixels; the bicubic picture it shows must equal Node's exactly (so the browser's PNG decoder gave sharp's
// RGB). Bad files and a cancel give clear states. Skips with a message where chromium is absent (fails under
// REFSR_STRICT=1). REFSR_WEB_SCREENSHOTS=DIR saves screenshots before, during and after the run.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { buildWeb } from '../web/build.ts';
import { serveStatic, type RunningServer } from '../src/serve/static-server.ts';
import { decodeImage, readImageFile } from '../src/image/decode.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { resolveModel } from '../src/pipeline/model-registry.ts';
import { upscale } from '../src/pipeline/upscale.ts';
import { prerequisite, repoRoot } from './support/shared.ts';
import { tempDir } from './support/temp.ts';
import { BIN, refsr } from './support/cli.ts';
import { spawn } from 'node:child_process';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const chromiumSkip = prerequisite(CHROMIUM !== undefined, 'no chromium binary (/usr/bin/chromium); install Debian\'s chromium package to test the browser app');
const LR = join(repoRoot, 'examples', 'coffee-lr.png');
const REF = join(repoRoot, 'examples', 'coffee-ref.png');
const shots = process.env.REFSR_WEB_SCREENSHOTS;

let server: RunningServer;
let browser: Browser | undefined;
let builtDir: string;

before(async () => {
  builtDir = join(tempDir('refsr-web-'), 'dist-web');
  await buildWeb(builtDir);
  server = await serveStatic(builtDir, { port: 0 });
  if (CHROMIUM) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function openApp(): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.state !== 'starting', null, { timeout: 60_000 }).catch(() => {
    throw new Error(`the page did not start: ${errors.join('; ') || 'no page error'}`);
  });
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const finished = () => ['done', 'error', 'cancelled'].includes(document.body.dataset.state ?? '');

test('the server sends the isolation headers and the wasm type, and nothing outside its folder', async () => {
  const index = await fetch(server.url);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const wasm = await fetch(new URL('ort/ort-wasm-simd-threaded.jsep.wasm', server.url), { method: 'HEAD' });
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const model = await fetch(new URL('models/default.safetensors', server.url));
  assert.deepEqual(new Uint8Array(await model.arrayBuffer()), new Uint8Array(await readFile(join(repoRoot, 'models', 'default.safetensors'))));
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json']) {
    const r = await fetch(server.url.replace(/\/$/, '') + path);
    assert.ok(r.status === 403 || r.status === 404, `${path} answered ${r.status}`);
  }
  assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
});

test('refsr serve prints the URL, serves the app cross-origin isolated on 127.0.0.1 and stops on Ctrl-C', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--dir', builtDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stderr = '';
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`no URL printed: ${stderr}`)); }, 60_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) { clearTimeout(timer); ok(m[1]!); }
    });
  });
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /<title>refsr/);
  assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const exit = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  child.kill('SIGINT');
  assert.equal(await exit, 0);
});

test('refsr serve on a folder without the built app says how to build it', () => {
  const r = refsr(['serve', '--port', '0', '--dir', tempDir()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^refsr: .*: no built browser app here \(index\.html missing\); run npm run build:web first\n$/);
});

test('the page upscales the example pair like Node (wasm, threads), shows bicubic vs refsr and downloads the PNG', { skip: chromiumSkip, timeout: 240_000 }, async () => {
  const page = await openApp();
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'wasm');
  assert.equal(await page.getAttribute('#backend', 'data-isolated'), 'true', 'the served page must be cross-origin isolated');
  assert.equal(await page.getAttribute('#backend', 'data-threads'), String(availableParallelism()));
  assert.ok(await page.isDisabled('#run'), 'nothing to upscale yet');
  await screenshot(page, '1-start');
  await page.setInputFiles('#lr-input', LR);
  await page.setInputFiles('#ref-input', REF);
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#stage')?.textContent?.includes('%'), null, { timeout: 60_000 });
  await screenshot(page, '2-running');
  await page.waitForFunction(finished, null, { timeout: 200_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'done', `run failed: ${await page.textContent('#error')}`);
  await screenshot(page, '3-done');
  await page.locator('#slider').fill('200');
  assert.equal(await page.$eval('#before', (el) => (el as HTMLElement).style.clipPath), 'inset(0px 80% 0px 0px)', 'the slider shows bicubic on the left 20%');

  const downloading = page.waitForEvent('download');
  await page.click('#download');
  const download = await downloading;
  assert.equal(download.suggestedFilename(), 'coffee-lr_x4.png');
  const pngPath = join(tempDir('refsr-web-dl-'), 'page.png');
  await download.saveAs(pngPath);
  const bicubicB64 = await page.evaluate(async () => {
    const b = new Uint8Array(await (await fetch((document.getElementById('before') as HTMLImageElement).src)).arrayBuffer());
    let s = '';
    for (const v of b) s += String.fromCharCode(v);
    return btoa(s);
  });
  await page.close();

  const lr = await readImageFile(LR);
  // The browser's decoder gave sharp's RGB: Pillow bicubic is integer arithmetic, so any decoded difference shows.
  const pageBicubic = await decodeImage({ bytes: new Uint8Array(Buffer.from(bicubicB64, 'base64')), name: 'bicubic.png' });
  assert.ok(Buffer.from(pageBicubic.data).equals(Buffer.from(pilResizeBicubic(lr, lr.width * 4, lr.height * 4).data)), 'the page\'s bicubic differs from Node\'s');

  const model = await RefSRModel.load(resolveModel(undefined));
  let nodeSr;
  try {
    nodeSr = (await upscale(model, lr, [{ image: await readImageFile(REF), name: REF }])).sr;
  } finally {
    await model.release();
  }
  const pageSr = await readImageFile(pngPath);
  assert.deepEqual([pageSr.width, pageSr.height], [nodeSr.width, nodeSr.height]);
  const meta = await sharp(pngPath).metadata();
  assert.equal(meta.format, 'png');
  let within = 0;
  let worst = 0;
  const n = nodeSr.width * nodeSr.height;
  for (let p = 0; p < n; p++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(pageSr.data[p * 3 + c]! - nodeSr.data[p * 3 + c]!));
    if (d <= 1) within++;
    worst = Math.max(worst, d);
  }
  assert.ok(within / n >= 0.999, `only ${(100 * within / n).toFixed(3)}% of pixels within one level of Node's output (worst ${worst})`);
});

test('the page names the file of a bad image and of a too small (dropped) one, and a run can be cancelled', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const page = await openApp();
  const tiny = await sharp({ create: { width: 3, height: 3, channels: 3, background: '#808080' } }).png().toBuffer();
  await page.setInputFiles('#ref-input', REF);
  await page.setInputFiles('#lr-input', { name: 'notes.txt', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
  await page.click('#run');
  await page.waitForFunction(finished, null, { timeout: 60_000 });
  assert.match((await page.textContent('#error')) ?? '', /^notes\.txt: is not an image this browser can decode/);
  // Dropped on the zone, as a user drags a file from the desktop.
  const dropped = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'tiny.png', { type: 'image/png' }));
    return dt;
  }, [...tiny]);
  await page.dispatchEvent('#lr-drop', 'drop', { dataTransfer: dropped });
  assert.equal(await page.textContent('#lr-thumbs .name'), 'tiny.png');
  await page.click('#run');
  await page.waitForFunction(() => document.body.dataset.state === 'error' && document.querySelector('#error')?.textContent?.startsWith('tiny.png'), null, { timeout: 60_000 });
  assert.match((await page.textContent('#error')) ?? '', /^tiny\.png: input is 3x3; it must be at least 12x12 px/);
  await screenshot(page, '4-error');

  await page.setInputFiles('#lr-input', LR);
  await page.click('#run');
  await page.waitForFunction(() => /features|matching/.test(document.querySelector('#stage')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.click('#cancel');
  await page.waitForFunction(finished, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'cancelled');
  assert.ok(await page.isHidden('#result'), 'no result after a cancel');
  assert.ok(await page.isEnabled('#run'), 'a new run can start');
  await page.close();
});
