// Owns the training loop's batch worker for engine: onnx: the next step's batch is prepared in a worker thread
// while the engine computes the current one. onnxruntime-node runs a session synchronously on the JS thread, so
// without a second thread nothing overlaps; with it, the main thread (ORT's caller thread plus one pool thread)
// computes steps while the worker synthesises data (and, for restoration, runs the frozen half on ORT).
// Batches depend only on (seed, step), so a batch made in the worker equals the one the main thread would make.

import { Worker } from 'node:worker_threads';
import type { TrainConfig } from '../config.ts';

interface Waiter { resolve(b: unknown): void; reject(e: Error): void }

export class BatchWorker<B> {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly requests = new Map<number, Promise<B>>();
  private readonly waiters = new Map<number, Waiter>();
  private failed: Error | undefined;

  constructor(cfg: TrainConfig) {
    this.worker = new Worker(workerEntry(), { workerData: { cfg }, execArgv: [] });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: { ready?: boolean; fatal?: string; step?: number; batch?: unknown; error?: string }) => {
        if (m.ready) resolve();
        else if (m.fatal !== undefined) {
          this.failed = new Error(`batch worker: ${m.fatal}`);
          reject(this.failed);
        } else if (m.step !== undefined) {
          const w = this.waiters.get(m.step);
          this.waiters.delete(m.step);
          if (m.error !== undefined) w?.reject(new Error(m.error));
          else w?.resolve(m.batch);
        }
      });
      this.worker.on('error', (e) => {
        this.failed = e;
        reject(e);
        for (const w of this.waiters.values()) w.reject(e);
        this.waiters.clear();
      });
    });
    this.ready.catch(() => {});
  }

  /** The batch of `step` (requested now if it was not prefetched). */
  get(step: number): Promise<B> {
    const have = this.requests.get(step);
    this.requests.delete(step);
    return have ?? this.request(step);
  }

  /** Starts preparing the batch of `step` in the worker. */
  prefetch(step: number): void {
    if (!this.requests.has(step)) {
      const p = this.request(step);
      p.catch(() => {}); // surfaced by get()
      this.requests.set(step, p);
    }
  }

  private async request(step: number): Promise<B> {
    await this.ready;
    if (this.failed) throw this.failed;
    return new Promise<B>((resolve, reject) => {
      this.waiters.set(step, { resolve: (b) => resolve(b as B), reject });
      this.worker.postMessage({ step });
    });
  }

  async close(): Promise<void> {
    this.requests.clear();
    this.worker.postMessage({ close: true });
    await Promise.race([new Promise((r) => this.worker.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }
}

/** The compiled worker entry when running from dist/, else the .mjs that registers tsx for the TypeScript entry. */
function workerEntry(): URL {
  return import.meta.url.endsWith('.js') ? new URL('./batch-worker-entry.js', import.meta.url) : new URL('./batch-worker-main.mjs', import.meta.url);
}
