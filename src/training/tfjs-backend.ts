// Owns tfjs start-up for training in Node: the wasm backend with its .wasm binaries loaded from node_modules by file
// path (no network), refsr's extra wasm kernels, and the fallback to the pure-JS cpu backend (tests only, ~25x
// slower) when wasm cannot start. Threads: the wasm backend disables multithreading under Node
// (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE), so training runs on one thread per process.
// Gradients: the Node bundle of tfjs-core registers no gradient functions (the @tensorflow/tfjs umbrella package
// does that); they are loaded here from tfjs-core's own ESM sources through tsx's require hook. The copies share
// tfjs's global engine and registries, so higher-order gradients work as usual.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { register as registerTsxRequire } from 'tsx/cjs/api';
import { registerWasmTrainingKernels } from './wasm-kernels/index.ts';

export type TrainBackend = 'wasm' | 'cpu';

export interface TfjsInitOptions {
  /** 'auto' (default) tries wasm and falls back to cpu; env REFSR_TF_BACKEND overrides. */
  readonly backend?: TrainBackend | 'auto';
  /** Where the fallback message goes (default: stderr). */
  readonly warn?: (message: string) => void;
}

let started: Promise<TrainBackend> | undefined;

function registerAllGradients(): void {
  if (tf.getGradient('Sum') !== undefined) return;
  const unregister = registerTsxRequire();
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  } finally {
    unregister();
  }
  if (tf.getGradient('Sum') === undefined) throw new Error('tfjs gradients failed to register');
}

/** Folder holding tfjs-backend-wasm's .wasm files, with a trailing slash (setWasmPaths prefix form). */
export function wasmBinaryDir(): string {
  const req = createRequire(import.meta.url);
  return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';
}

async function start(opts: TfjsInitOptions): Promise<TrainBackend> {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const wanted = (process.env.REFSR_TF_BACKEND as TrainBackend | undefined) ?? opts.backend ?? 'auto';
  tf.env().set('PROD', true); // no "install tfjs-node" banner, no debug checks
  registerAllGradients();
  registerWasmTrainingKernels();
  if (wanted !== 'cpu') {
    try {
      setWasmPaths(wasmBinaryDir());
      const restore = keepProcessHandlers();
      try {
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm';
        }
      } finally {
        restore();
      }
      throw new Error('tf.setBackend("wasm") returned false');
    } catch (e) {
      if (wanted === 'wasm') throw new Error(`tfjs wasm backend failed to start: ${(e as Error).message}`);
      warn(`refsr: tfjs wasm backend unavailable (${(e as Error).message}); falling back to the slow cpu backend`);
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend failed to start');
  await tf.ready();
  return 'cpu';
}

/**
 * The Emscripten module of the wasm backend installs process-wide uncaughtException / unhandledRejection handlers
 * that rethrow (printing its whole minified source with every crash). Remove whatever handlers appear while it starts.
 */
function keepProcessHandlers(): () => void {
  type Listener = (...args: unknown[]) => void;
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as Listener[];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  return () => {
    for (const e of events) {
      for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  };
}

/** Starts tfjs once per process and returns the active backend. */
export function initTfjs(opts: TfjsInitOptions = {}): Promise<TrainBackend> {
  started ??= start(opts);
  return started;
}

/** Switches the active backend (tests compare wasm and cpu); initTfjs must have run. */
export async function useBackend(name: TrainBackend): Promise<void> {
  await initTfjs();
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to start`);
}
