// Owns the contract between the training loop and the ONNX engine's per-stage steps (what one step returns), the
// engine's thread count, and its error for what it does not cover.

import type { Float32Tensor } from '../../tensor/host-tensor.ts';

export interface EngineStep {
  readonly loss: number;
  readonly logs: Record<string, number>;
  /** Gradient of the loss for every trainable parameter the network uses (official names and layouts). */
  readonly grads: Map<string, Float32Tensor>;
}

export interface StepEngine<B> {
  step(batch: B, step: number): Promise<EngineStep>;
  release(): Promise<void>;
}

export class UnsupportedByOnnxEngine extends Error {
  constructor(message: string) { super(`${message}; use engine: tfjs`); this.name = 'UnsupportedByOnnxEngine'; }
}

/**
 * Intra-op threads of the engine's sessions: 1, or REFSR_ENGINE_THREADS. The CPU budget is 2 cores: one runs the
 * step (ORT on the JS thread, host im2col, loss heads, Adam), the other the batch worker (data synthesis, and the
 * restoration's frozen half). Measured with the worker on (teacher, same load): 1 thread 0.97 s per step, 2
 * threads 1.46 s; restoration no worse with 1.
 */
export function engineThreads(): number {
  const env = Number(process.env.REFSR_ENGINE_THREADS);
  return Number.isInteger(env) && env > 0 ? env : 1;
}

/** Whether the engine's ORT threads spin-wait between runs: no, unless REFSR_ENGINE_SPIN=1 (for measurements). */
export function spinEnabled(): boolean {
  return process.env.REFSR_ENGINE_SPIN === '1';
}
