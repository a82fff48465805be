// Owns running refsr in a Web Worker, so the page stays responsive: it configures the ONNX Runtime backend the page
// chose, loads the bundled default model (models/default.safetensors, fetched from the app's own folder) once, decodes the dropped
// files with the browser's decoders and runs the same pipeline as Node (src/pipeline/upscale.ts on
// src/pipeline/refsr-model.ts), posting progress, then the refsr and bicubic PNGs. It says 'ready' once ORT's wasm
// has started and the model is loaded, both done at start-up while the user picks files. A 'cancel' message aborts the
// run before its next graph run (the browser ORT seam yields to this worker's event loop before each run).
//
// URL parameters of the worker (set by the page): backend=wasm|webgpu, threads=N (wasm threads; default: every core
// when the page is cross-origin isolated, else 1).

import { configureRuntime, type WebBackend } from './runtime/ort-runtime.ts';
import { parseSafetensors } from '../src/weights/safetensors.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { describeBundle } from '../src/models/model-bundle.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { OnnxOps } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import { upscale } from '../src/pipeline/upscale.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { decodeInBrowser, encodePngInBrowser } from './decode-browser.ts';
import type { BackendInfo, FromWorker, ToWorker } from './messages.ts';

/** Largest input accepted in the browser: 1 MP in, 16 MP out (a wasm heap holds at most 4 GB). */
export const BROWSER_MAX_INPUT_PIXELS = 1_000_000;

const scope = self as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  crossOriginIsolated: boolean;
  location: Location;
  navigator: Navigator;
};

const params = new URL(scope.location.href).searchParams;
let model: Promise<RefSRModel> | undefined;
let current: AbortController | undefined;

/** The backend the page chose (it starts worker-webgpu.js only when the browser has a WebGPU adapter). */
function configure(): BackendInfo {
  const backend: WebBackend = params.get('backend') === 'webgpu' ? 'webgpu' : 'wasm';
  const isolated = scope.crossOriginIsolated === true;
  const askedThreads = Number(params.get('threads'));
  const threads = isolated ? (askedThreads >= 1 ? Math.floor(askedThreads) : scope.navigator.hardwareConcurrency || 1) : 1;
  configureRuntime({ wasmPaths: new URL('ort/', scope.location.href).href, backend, threads });
  return { backend, threads, crossOriginIsolated: isolated };
}

async function loadModel(): Promise<RefSRModel> {
  const url = new URL('models/default.safetensors', scope.location.href).href;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`models/default.safetensors: cannot load the bundled model (HTTP ${res.status}); rebuild the app with npm run build:web`);
  const name = 'default.safetensors';
  const file = parseSafetensors(new Uint8Array(await res.arrayBuffer()), name);
  const weights = new WeightMap(file.tensors, file.metadata);
  return new RefSRModel(weights, describeBundle(weights, name), name);
}

async function run(msg: Extract<ToWorker, { type: 'run' }>, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  const lr = await decodeInBrowser(msg.lr.blob, msg.lr.name);
  const refs = [];
  for (const r of msg.refs) refs.push({ image: await decodeInBrowser(r.blob, r.name), name: r.name });
  const notes: string[] = [];
  for (const img of [{ name: msg.lr.name, image: lr }, ...refs]) {
    if (img.image.hadAlpha) notes.push(`${img.name} has transparency; it was flattened onto white`);
  }
  scope.postMessage({ type: 'progress', stage: 'loading the model', fraction: 0 });
  const m = await (model ??= loadModel().catch((err: unknown) => { model = undefined; throw err; }));
  signal.throwIfAborted();
  let r;
  try {
    r = await upscale(m, lr, refs, {
      signal, maxInputPixels: BROWSER_MAX_INPUT_PIXELS, inputName: msg.lr.name,
      onProgress: (stage, fraction) => scope.postMessage({ type: 'progress', stage, fraction }),
    });
  } catch (e) {
    // The pipeline's input errors name the file (inputName); the page's pixel limit is not an option.
    if ((e as Error).name === 'UpscaleInputError') throw new Error((e as Error).message.replace(/ \(raise the maxInputPixels option\)/, ' in the browser (the command line accepts up to 4 MP)'));
    throw e;
  }
  scope.postMessage({ type: 'progress', stage: 'encoding', fraction: 1 });
  const bicubic = pilResizeBicubic(lr, lr.width * 4, lr.height * 4);
  const [srPng, bicubicPng] = await Promise.all([encodePngInBrowser(r.sr), encodePngInBrowser(bicubic)]);
  const total = (performance.now() - t0) / 1000;
  scope.postMessage({ type: 'result', result: { width: r.sr.width, height: r.sr.height, srPng, bicubicPng, notes: [...notes, ...r.notes], seconds: { ...r.seconds, total } } });
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') { current?.abort(); return; }
  const ac = new AbortController();
  current = ac;
  run(msg, ac.signal).catch((err: unknown) => {
    if (ac.signal.aborted) scope.postMessage({ type: 'cancelled' });
    else scope.postMessage({ type: 'error', message: (err as Error)?.message ?? String(err) });
  }).finally(() => { if (current === ac) current = undefined; });
};

/** Starts ORT's wasm (compiling it takes seconds) with a one-node graph, so this happens while files are picked. */
async function warmUp(): Promise<void> {
  const ops = new OnnxOps(() => undefined);
  ops.output(ops.relu(ops.input('x', [1, 1, 1, 1])), 'y');
  const g = await OrtGraph.create(ops.encode());
  await g.run({ x: { shape: [1, 1, 1, 1], data: new Float32Array(1) } });
  await g.release();
}

// 'ready' once ORT runs and the model is loaded; a failure of either is reported, and a run retries the model.
const info = configure();
Promise.all([warmUp(), model ??= loadModel().catch((err: unknown) => { model = undefined; throw err; })]).then(
  () => scope.postMessage({ type: 'ready', info }),
  (err: unknown) => scope.postMessage({ type: 'error', message: `ONNX Runtime or the model could not be started: ${(err as Error)?.message ?? String(err)}` }),
);
