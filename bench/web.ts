// Benchmark: the example pair (examples/coffee-lr.png 100x80 with coffee-ref.png 400x360, the bundled default
// model) upscaled in headless Chromium by the browser app (wasm, threads on: every core, and off: 1 thread; the page
// served cross-origin isolated by the app's own server) next to Node (onnxruntime-node, the same thread counts), in
// one run on one machine. Each configuration is timed cold (first run in a fresh page or on a freshly loaded model:
// every ONNX session is created) and warm (the same run again). pageReadySeconds is the page's start-up (open to
// ready: ORT's wasm started and the model loaded, which the page does while files are picked). Browser times are
// the worker's (decode to encoded PNG) and the stage split; Node times are `upscale`'s (decoded images in, RGB out).
// Prints one JSON document on stdout. Needs Debian's chromium. Usage: npx tsx bench/web.ts [--chromium PATH]

import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildWeb } from '../web/build.ts';
import { serveStatic } from '../src/serve/static-server.ts';
import { readImageFile } from '../src/image/decode.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { resolveModel } from '../src/pipeline/model-registry.ts';
import { upscale } from '../src/pipeline/upscale.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LR = join(root, 'examples', 'coffee-lr.png');
const REF = join(root, 'examples', 'coffee-ref.png');
const args = process.argv.slice(2);
const at = args.indexOf('--chromium');
const chromiumPath = at >= 0 ? args[at + 1] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
if (!chromiumPath) {
  process.stderr.write('bench/web: no chromium found (install Debian\'s chromium package or pass --chromium PATH)\n');
  process.exit(1);
}

interface Timing { seconds: number; features: number; matching: number; restoration: number }
const round = (v: number) => Math.round(v * 100) / 100;
const timing = (total: number, s: { features: number; matching: number; restoration: number }): Timing =>
  ({ seconds: round(total), features: round(s.features), matching: round(s.matching), restoration: round(s.restoration) });

async function nodeRun(threads: number): Promise<{ cold: Timing; warm: Timing }> {
  const lr = await readImageFile(LR);
  const refs = [{ image: await readImageFile(REF), name: REF }];
  const model = await RefSRModel.load(resolveModel(undefined), { threads });
  try {
    const out: Timing[] = [];
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const r = await upscale(model, lr, refs);
      out.push(timing((performance.now() - t0) / 1000, r.seconds));
    }
    return { cold: out[0]!, warm: out[1]! };
  } finally {
    await model.release();
  }
}

async function browserRun(browser: Browser, url: string, threads: number): Promise<{ backend: string; threads: number; pageReadySeconds: number; cold: Timing; warm: Timing }> {
  const page = await browser.newPage();
  try {
    const t0 = performance.now();
    await page.goto(`${url}?backend=wasm&threads=${threads}`);
    await page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: 120_000 });
    const pageReadySeconds = round((performance.now() - t0) / 1000);
    await page.setInputFiles('#lr-input', LR);
    await page.setInputFiles('#ref-input', REF);
    const out: Timing[] = [];
    for (let i = 0; i < 2; i++) {
      await page.click('#run');
      await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.body.dataset.state ?? ''), null, { timeout: 600_000 });
      const state = await page.evaluate(() => document.body.dataset.state);
      if (state !== 'done') throw new Error(`browser run failed: ${await page.textContent('#error')}`);
      const s = JSON.parse((await page.getAttribute('#result', 'data-seconds'))!) as Timing & { total: number };
      out.push(timing(s.total, s));
    }
    return { backend: (await page.getAttribute('#backend', 'data-backend'))!, threads: Number(await page.getAttribute('#backend', 'data-threads')), pageReadySeconds, cold: out[0]!, warm: out[1]! };
  } finally {
    await page.close();
  }
}

const cores = availableParallelism();
const dir = await mkdtemp(join(tmpdir(), 'refsr-bench-web-'));
const server = await serveStatic((await buildWeb(join(dir, 'dist-web'))).outDir, { port: 0 });
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
try {
  const load = loadavg()[0];
  const results = {
    benchmark: 'example pair (100x80 -> 400x320, reference 400x360), bundled default model',
    machine: { cpu: cpus()[0]?.model, cores, loadAverage1mAtStart: round(load!), node: process.version, chromium: browser.version() },
    node: { threadsOn: { threads: cores, ...(await nodeRun(cores)) }, threadsOff: { threads: 1, ...(await nodeRun(1)) } },
    browser: { threadsOn: await browserRun(browser, server.url, cores), threadsOff: await browserRun(browser, server.url, 1) },
  };
  console.log(JSON.stringify(results, null, 2));
} finally {
  await browser.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
