// Owns which ONNX Runtime build refsr runs on: in Node, onnxruntime-node on the CPU with one intra-op thread per
// core. Every module that needs ORT (sessions, ORT tensors) imports it from here, so this file is the one seam
// between Node and the browser: the browser app's build (web/build.ts) swaps it for web/runtime/ort-runtime.ts
// (onnxruntime-web: wasm, or WebGPU when the browser has it) and the pipeline code is otherwise the same.

import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';

export { ort };

/** The execution providers sessions are created with. */
export function executionProviders(): string[] {
  return ['cpu'];
}

/** Intra-op threads when the caller does not choose: every core. */
export function defaultThreads(): number {
  return availableParallelism();
}

/**
 * Awaited before every graph run when it returns a promise. Node: nothing to wait for. The browser's version yields
 * to the worker's event loop, whose graph runs otherwise chain as microtasks, so a cancel message is seen between runs.
 */
export function beforeRun(): Promise<void> | undefined {
  return undefined;
}
