// Owns the browser side of the ONNX Runtime seam: the browser build (web/build.ts) resolves every import of
// src/graph/ort-runtime.ts to this file, so the shared pipeline runs on onnxruntime-web. It imports ORT's plain wasm
// build (a 14 MB wasm: in headless Chromium it started in 3.7 s instead of 10.8 s and ran the example pair 2x
// faster than the 28 MB WebGPU-capable JSEP build); the WebGPU worker (worker-webgpu.js) is built with this import
// resolved to the JSEP build instead. The worker configures it once, before the first session: WebGPU (operators
// it lacks fall back to wasm inside ORT) or wasm with `threads` threads (more than one only when the page is
// cross-origin isolated, which SharedArrayBuffer needs). The ORT files are served next to the app (copied from
// node_modules/onnxruntime-web/dist at build time); nothing is fetched from a CDN.

import * as ort from 'onnxruntime-web/wasm';

export { ort };

export type WebBackend = 'webgpu' | 'wasm';

let providers: string[] = ['wasm'];

/** Called by the worker before the first session: the ORT files' URL folder, the backend and the wasm threads. */
export function configureRuntime(opts: { wasmPaths: string; backend: WebBackend; threads: number }): void {
  ort.env.wasm.wasmPaths = opts.wasmPaths;
  ort.env.wasm.numThreads = opts.threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  providers = opts.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
}

export function executionProviders(): string[] {
  return providers;
}

/** onnxruntime-web takes its thread count from env.wasm.numThreads; the per-session value is only a hint. */
export function defaultThreads(): number {
  return ort.env.wasm.numThreads ?? 1;
}

/** A macrotask yield before every graph run: the worker's onmessage (a cancel) runs between two graph runs. */
export function beforeRun(): Promise<void> | undefined {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
