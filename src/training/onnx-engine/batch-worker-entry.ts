// Owns the worker side of the batch worker: builds the stage's data pipeline from the run's config (a second
// instance of the same stage class: a batch depends only on the seed and the step, not on the parameters) and
// answers `prepare(step)` requests, transferring the batch's arrays back.

import { parentPort, workerData } from 'node:worker_threads';
import type { TrainConfig } from '../config.ts';
import { ContrastiveStage } from '../stages/contrastive-stage.ts';
import { RestorationStage } from '../stages/restoration-stage.ts';
import { MultiReferenceStage } from '../stages/multi-reference-stage.ts';
import { VideoStage } from '../stages/video-stage.ts';

const port = parentPort!;
const cfg = workerData.cfg as TrainConfig;

/** Every typed array's buffer in a batch (to transfer instead of copying). */
function buffers(x: unknown, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (ArrayBuffer.isView(x)) {
    if (x.buffer instanceof ArrayBuffer && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength) out.add(x.buffer);
  } else if (x && typeof x === 'object') {
    for (const v of Object.values(x)) buffers(v, out);
  }
  return [...out];
}

try {
  // One ONNX Runtime thread for the frozen half (no pool thread spinning on the step's core).
  const stage = cfg.stage === 'restoration' ? await RestorationStage.create(cfg, undefined, { frozenThreads: 1 })
    : cfg.stage === 'multi-reference' ? await MultiReferenceStage.create(cfg, undefined, { frozenThreads: 1 })
    : cfg.stage === 'video' ? await VideoStage.create(cfg, undefined, { frozenThreads: 1 })
    : await ContrastiveStage.create(cfg, undefined);
  const prepare = (step: number) => (stage as { prepare(step: number): Promise<unknown> }).prepare(step);
  port.on('message', (m: { step?: number; close?: boolean }) => {
    if (m.close) {
      void stage.dispose().finally(() => port.close());
      return;
    }
    const step = m.step!;
    prepare(step).then(
      (batch) => port.postMessage({ step, batch }, buffers(batch)),
      (e: unknown) => port.postMessage({ step, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ fatal: e instanceof Error ? e.message : String(e) });
}
