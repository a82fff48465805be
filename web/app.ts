// Owns the page of the browser app: picking or dropping the low-resolution photo and the references, starting and
// cancelling a run in the inference worker (worker.ts), the progress bar, the before/after slider (bicubic vs
// refsr) and the PNG download. `document.body.dataset.state` (starting, idle, running, done, error, cancelled) says
// where the page is, for tests and scripts.

import type { BackendInfo, FromWorker, RunResult, ToWorker } from './messages.ts';
import { MIN_INPUT_SIDE } from '../src/pipeline/upscale.ts';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

const lrInput = $<HTMLInputElement>('lr-input');
const refInput = $<HTMLInputElement>('ref-input');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const progressWrap = $('progress-wrap');
const progress = $<HTMLProgressElement>('progress');
const stageText = $('stage');
const errorBox = $('error');
const resultBox = $('result');
const before = $<HTMLImageElement>('before');
const after = $<HTMLImageElement>('after');
const slider = $<HTMLInputElement>('slider');
const divider = $('divider');
const download = $<HTMLAnchorElement>('download');
const timing = $('timing');
const notesList = $('notes');
const backendLine = $('backend');

let lrFile: File | undefined;
let refFiles: File[] = [];
let backendReady = false;
let running = false;
/** Object URLs of the shown thumbnails and of the shown result, revoked when replaced. */
const thumbUrls = new Map<HTMLElement, string[]>();
let resultUrls: string[] = [];

let worker: Worker;
/** Why WebGPU is not used, when it is not (shown on the page). */
let webgpuNote: string | undefined;

/**
 * WebGPU when the browser has an adapter (worker-webgpu.js, ORT's JSEP build), else wasm (worker.js, ORT's plain wasm
 * build). Page URL parameters: backend=wasm forces wasm; threads=N sets the wasm threads (default: every core).
 */
async function startWorker(): Promise<Worker> {
  const params = new URLSearchParams(location.search);
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  let backend = 'wasm';
  if (params.get('backend') === 'wasm') webgpuNote = 'wasm chosen in the URL (backend=wasm)';
  else if (!gpu) webgpuNote = 'this browser has no WebGPU';
  else if (await gpu.requestAdapter().catch(() => null)) backend = 'webgpu';
  else webgpuNote = 'WebGPU found no GPU adapter';
  const query = new URLSearchParams({ backend, ...(params.get('threads') ? { threads: params.get('threads')! } : {}) });
  return new Worker(new URL(`${backend === 'webgpu' ? 'worker-webgpu.js' : 'worker.js'}?${query}`, location.href), { type: 'module' });
}

function setState(state: string): void { document.body.dataset.state = state; }

function showError(message: string | undefined): void {
  errorBox.hidden = !message;
  errorBox.textContent = message ?? '';
}

function updateRunButton(): void {
  runButton.disabled = !backendReady || running || !lrFile || refFiles.length === 0;
  runButton.title = !lrFile ? 'choose the low-resolution photo first' : refFiles.length === 0 ? 'choose at least one reference photo' : '';
}

function describeBackend(i: BackendInfo): string {
  if (i.backend === 'webgpu') return '<b>WebGPU</b> (ONNX Runtime Web; operators WebGPU lacks run on wasm)';
  const threads = i.threads > 1 ? `${i.threads} threads` : new URLSearchParams(location.search).get('threads') === '1' ? '1 thread (threads=1 in the URL)' : '1 thread';
  const why = i.crossOriginIsolated ? '' : ' (the page is not cross-origin isolated, so wasm cannot use threads; serve it with <code>npx refsr serve</code>)';
  return `<b>wasm</b>, ${threads}${why}${webgpuNote ? `; not WebGPU: ${webgpuNote}` : ''}`;
}

function fileSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function showThumbs(target: HTMLElement, files: readonly File[], minSide = 0): void {
  target.replaceChildren();
  for (const u of thumbUrls.get(target) ?? []) URL.revokeObjectURL(u);
  const urls: string[] = [];
  thumbUrls.set(target, urls);
  for (const f of files) {
    const box = document.createElement('span');
    box.className = 'thumb';
    const img = document.createElement('img');
    const url = URL.createObjectURL(f);
    urls.push(url);
    img.src = url;
    img.alt = f.name;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = f.name;
    name.title = f.name;
    const size = document.createElement('span');
    size.textContent = fileSize(f.size);
    img.onload = () => {
      size.textContent = `${img.naturalWidth}x${img.naturalHeight}, ${fileSize(f.size)}`;
      if (img.naturalWidth < 32 || img.naturalHeight < 32) img.classList.add('tiny');
      if (img.naturalWidth < minSide || img.naturalHeight < minSide) {
        showError(`${f.name}: input is ${img.naturalWidth}x${img.naturalHeight}; it must be at least ${minSide}x${minSide} px`);
      }
    };
    img.onerror = () => { size.textContent = 'cannot be displayed: not an image?'; };
    box.append(img, name, size);
    target.append(box);
  }
}

function setLr(files: readonly File[]): void {
  lrFile = files[0];
  showThumbs($('lr-thumbs'), lrFile ? [lrFile] : [], MIN_INPUT_SIDE);
  showError(files.length > 1 ? `only one low-resolution photo is upscaled at a time; using ${lrFile!.name}` : undefined);
  updateRunButton();
}

function setRefs(files: readonly File[]): void {
  refFiles = [...files];
  showThumbs($('ref-thumbs'), refFiles);
  showError(undefined);
  updateRunButton();
}

function wireDrop(zone: HTMLElement, input: HTMLInputElement, take: (files: readonly File[]) => void): void {
  input.addEventListener('change', () => take([...(input.files ?? [])]));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) take(files);
  });
}

const STAGE_SPAN: Record<string, [number, number]> = { 'loading the model': [0, 0.02], features: [0.02, 0.25], matching: [0.25, 0.5], restoration: [0.5, 0.98], encoding: [0.98, 1] };

let runStart = 0;
let stageLabel = '';
let ticker: ReturnType<typeof setInterval> | undefined;

function renderStage(): void {
  stageText.textContent = `${stageLabel} · ${((performance.now() - runStart) / 1000).toFixed(0)} s`;
}

function showProgress(stage: string, fraction: number): void {
  const base = stage.split(' ref ')[0]!;
  const [a, b] = STAGE_SPAN[base] ?? [0, 1];
  progress.value = a + (b - a) * Math.min(Math.max(fraction, 0), 1);
  stageLabel = stage === 'loading the model' || stage === 'encoding' ? `${stage}…` : `${stage} ${Math.round(fraction * 100)}%`;
  renderStage();
}

function finishRun(state: string): void {
  running = false;
  clearInterval(ticker);
  setState(state);
  cancelButton.hidden = true;
  if (state !== 'running') progressWrap.hidden = state !== 'done';
  updateRunButton();
}

function showResult(r: RunResult): void {
  for (const u of resultUrls) URL.revokeObjectURL(u);
  const srUrl = URL.createObjectURL(r.srPng);
  const biUrl = URL.createObjectURL(r.bicubicPng);
  resultUrls = [srUrl, biUrl];
  after.src = srUrl;
  before.src = biUrl;
  // Small results are shown twice as large (pixels kept sharp) so the difference is visible.
  const scale = r.width <= 560 ? 2 : 1;
  for (const img of [after, before]) img.style.imageRendering = scale > 1 ? 'pixelated' : 'auto';
  after.style.width = `${r.width * scale}px`;
  download.href = srUrl;
  download.download = `${(lrFile?.name ?? 'image').replace(/\.[^.]*$/, '')}_x4.png`;
  const s = r.seconds;
  timing.textContent = `${r.width}x${r.height} px in ${s.total.toFixed(1)} s (features ${s.features.toFixed(1)} s, matching ${s.matching.toFixed(1)} s, restoration ${s.restoration.toFixed(1)} s)`;
  resultBox.dataset.seconds = JSON.stringify(s);
  notesList.replaceChildren(...r.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
  resultBox.hidden = false;
  resultBox.scrollIntoView({ block: 'start' });
  stageText.textContent = 'done';
  progress.value = 1;
}

function moveSlider(): void {
  const p = Number(slider.value) / 10;
  before.style.clipPath = `inset(0 ${100 - p}% 0 0)`;
  divider.style.left = `${p}%`;
}

function onWorkerMessage(e: MessageEvent<FromWorker>): void {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      backendReady = true;
      backendLine.innerHTML = `Runs on ${describeBackend(m.info)}.`;
      backendLine.dataset.backend = m.info.backend;
      backendLine.dataset.threads = String(m.info.threads);
      backendLine.dataset.isolated = String(m.info.crossOriginIsolated);
      setState('idle');
      updateRunButton();
      break;
    case 'progress': showProgress(m.stage, m.fraction); break;
    case 'result': showResult(m.result); finishRun('done'); break;
    case 'cancelled': stageText.textContent = 'cancelled'; finishRun('cancelled'); break;
    case 'error': showError(m.message); finishRun(backendReady ? 'error' : 'starting'); break;
  }
}

runButton.addEventListener('click', () => {
  if (!lrFile || refFiles.length === 0 || running) return;
  running = true;
  setState('running');
  showError(undefined);
  resultBox.hidden = true;
  progressWrap.hidden = false;
  progress.value = 0;
  runStart = performance.now();
  stageLabel = 'decoding…';
  renderStage();
  ticker = setInterval(renderStage, 1000);
  cancelButton.hidden = false;
  updateRunButton();
  const msg: ToWorker = { type: 'run', lr: { name: lrFile.name, blob: lrFile }, refs: refFiles.map((f) => ({ name: f.name, blob: f })) };
  worker.postMessage(msg);
});
cancelButton.addEventListener('click', () => {
  stageLabel = 'cancelling…';
  renderStage();
  worker.postMessage({ type: 'cancel' } satisfies ToWorker);
});
slider.addEventListener('input', moveSlider);
wireDrop($('lr-drop'), lrInput, setLr);
wireDrop($('ref-drop'), refInput, setRefs);
moveSlider();
updateRunButton();
startWorker().then((w) => {
  worker = w;
  worker.onmessage = onWorkerMessage;
  worker.onerror = (e) => { showError(`the inference worker failed: ${e.message || 'it could not be started'}`); finishRun('error'); };
}, (e: unknown) => showError(`the inference worker could not be started: ${String(e)}`));
