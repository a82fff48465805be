// Owns running encoded ONNX models on ONNX Runtime (onnxruntime-node, or onnxruntime-web in the browser app, see
// ort-runtime.ts): session creation with the thread settings refsr uses, and
// conversion between host Float32Tensors and ORT tensors.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { ort, executionProviders, defaultThreads, beforeRun } from './ort-runtime.ts';

export interface SessionOptions {
  /** Intra-op threads; defaults to the number of CPU cores. */
  readonly threads?: number;
  /**
   * No per-session memory arena: each session returns its buffers after every run. Measured on 10 WR-SR dev images
   * (eval, fast matching, one thread): peak RSS 1.45 GB instead of 4.07 GB, ~25% slower.
   */
  readonly lowMemory?: boolean;
  /**
   * Intra-op threads spin-wait for work after a run (ORT's default, true). The training engine turns it off: its
   * host work between runs (loss heads, deformable im2col) would otherwise share the two cores with a spinning
   * thread.
   */
  readonly spin?: boolean;
}

export class OrtGraph {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<OrtGraph> {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: executionProviders(),
      intraOpNumThreads: opts.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: !opts.lowMemory,
      enableMemPattern: true,
      ...(opts.spin === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
    });
    return new OrtGraph(session);
  }

  async run(inputs: Record<string, Float32Tensor>): Promise<Record<string, Float32Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor('float32', v.data, v.shape as number[]);
    const wait = beforeRun();
    if (wait) await wait;
    const results = await this.session.run(feeds);
    const out: Record<string, Float32Tensor> = {};
    for (const [k, v] of Object.entries(results)) {
      if (v.type !== 'float32') throw new Error(`graph output ${k} has type ${v.type}`);
      out[k] = { shape: [...v.dims], data: v.data as Float32Array };
    }
    return out;
  }

  /** Runs and returns raw ORT tensors (for int64 outputs such as ArgMax indices). */
  async runRaw(inputs: Record<string, Float32Tensor>): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor('float32', v.data, v.shape as number[]);
    const wait = beforeRun();
    if (wait) await wait;
    return this.session.run(feeds);
  }

  /** Runs on ORT tensors directly (no copy of large inputs, int64 outputs kept). */
  async runRawTensors(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const wait = beforeRun();
    if (wait) await wait;
    return this.session.run(feeds);
  }

  async release(): Promise<void> { await this.session.release(); }
}
