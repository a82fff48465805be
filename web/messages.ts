// Owns the messages between the page (app.ts) and the inference worker (worker.ts).

import type { WebBackend } from './runtime/ort-runtime.ts';

export interface NamedFile { readonly name: string; readonly blob: Blob }

export type ToWorker =
  | { readonly type: 'run'; readonly lr: NamedFile; readonly refs: readonly NamedFile[] }
  | { readonly type: 'cancel' };

export interface BackendInfo {
  readonly backend: WebBackend;
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
}

export interface RunResult {
  readonly width: number;
  readonly height: number;
  readonly srPng: Blob;
  readonly bicubicPng: Blob;
  readonly notes: readonly string[];
  /** Seconds: the pipeline's stages, and the whole run in the worker (decode, model, sessions, encode). */
  readonly seconds: { readonly features: number; readonly matching: number; readonly restoration: number; readonly total: number };
}

export type FromWorker =
  | { readonly type: 'ready'; readonly info: BackendInfo }
  | { readonly type: 'progress'; readonly stage: string; readonly fraction: number }
  | { readonly type: 'result'; readonly result: RunResult }
  | { readonly type: 'cancelled' }
  | { readonly type: 'error'; readonly message: string };
