// Owns one network's pair of ONNX Runtime sessions for training at fixed input shapes: the forward graph (heads
// plus the values the backward pass reads) and the backward graph (the heads' incoming gradients in, every
// trainable parameter's gradient out). Parameters are graph inputs, fed from the current values each step, so the
// sessions are built once per shape. The loss head in between runs wherever the caller likes (host / tfjs).

import * as ort from 'onnxruntime-node';
import { OrtGraph } from '../../graph/ort-session.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { TapeOps } from './tape-ops.ts';
import { buildBackward, GRAD_PREFIX } from './backward.ts';
import type { Sym } from './graph-builder.ts';

/** A network over the op interface: named inputs in, named heads out. */
export type Network = (ops: TapeOps, inputs: Readonly<Record<string, Sym>>) => Record<string, Sym>;

export interface TrainGraphOptions {
  /** Intra-op threads of both sessions (default 2). */
  readonly threads?: number;
  /** Whether a parameter gets a gradient (default all); false everywhere builds a forward-only graph. */
  readonly trainable?: (name: string) => boolean;
  /** Forward only (frozen networks). */
  readonly forwardOnly?: boolean;
}

/** The forward pass of one step, kept for its backward pass. */
export interface ForwardPass {
  readonly heads: Record<string, Float32Tensor>;
  readonly feeds: Record<string, ort.Tensor>;
  readonly results: Record<string, ort.Tensor>;
}

export type ParamSource = (name: string) => Float32Tensor;

function tensor(t: Float32Tensor): ort.Tensor {
  return new ort.Tensor('float32', t.data, t.shape as number[]);
}

export class TrainGraph {
  private constructor(
    private readonly fwd: OrtGraph,
    private readonly bwd: OrtGraph | undefined,
    readonly params: readonly string[],
    readonly heads: readonly string[],
    private readonly backwardInputs: readonly string[],
    /** Parameters with a gradient output. */
    readonly gradParams: readonly string[],
  ) {}

  static async build(net: Network, inputShapes: Readonly<Record<string, readonly number[]>>, opts: TrainGraphOptions = {}): Promise<TrainGraph> {
    const ops = new TapeOps(opts.forwardOnly ? () => false : opts.trainable);
    const inputs: Record<string, Sym> = {};
    for (const [k, s] of Object.entries(inputShapes)) inputs[k] = ops.input(k, s);
    const heads = net(ops, inputs);
    const headNames: string[] = [];
    // Heads are exposed under their own names; the caller sees them by key.
    const renamed: Record<string, string> = {};
    for (const [k, h] of Object.entries(heads)) {
      ops.f.output(h);
      renamed[k] = h.name;
      headNames.push(k);
    }
    const threads = opts.threads ?? 2;
    let bwd: OrtGraph | undefined;
    let backwardInputs: string[] = [];
    let gradParams: string[] = [];
    if (!opts.forwardOnly) {
      const back = buildBackward(ops, Object.values(heads));
      bwd = await OrtGraph.create(back.b.model.encode('refsr_backward'), { threads });
      backwardInputs = [...back.saved, ...back.sharedInputs];
      gradParams = [...back.params];
    }
    const fwd = await OrtGraph.create(ops.f.model.encode('refsr_forward'), { threads });
    const g = new TrainGraph(fwd, bwd, [...ops.params.keys()], headNames, backwardInputs, gradParams);
    g.headSym = renamed;
    return g;
  }

  private headSym: Record<string, string> = {};

  async forward(inputs: Readonly<Record<string, Float32Tensor>>, param: ParamSource): Promise<ForwardPass> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = tensor(v);
    for (const p of this.params) feeds[p] = tensor(param(p));
    const results = await this.fwd.runRawTensors(feeds);
    const heads: Record<string, Float32Tensor> = {};
    for (const k of this.heads) {
      const r = results[this.headSym[k]!]!;
      heads[k] = { shape: [...r.dims], data: r.data as Float32Array };
    }
    return { heads, feeds, results };
  }

  /** Gradients of every trainable parameter, given the gradient of each head (by head key). */
  async backward(pass: ForwardPass, headGrads: Readonly<Record<string, Float32Tensor>>): Promise<Map<string, Float32Tensor>> {
    if (!this.bwd) throw new Error('forward-only graph has no backward pass');
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.backwardInputs) feeds[name] = pass.results[name] ?? pass.feeds[name]!;
    for (const k of this.heads) {
      const g = headGrads[k];
      if (!g) throw new Error(`onnx engine: no gradient given for head ${k}`);
      feeds[GRAD_PREFIX + this.headSym[k]] = tensor(g);
    }
    const out = await this.bwd.runRawTensors(feeds);
    const grads = new Map<string, Float32Tensor>();
    for (const p of this.gradParams) {
      const r = out[GRAD_PREFIX + p]!;
      grads.set(p, { shape: [...r.dims], data: r.data as Float32Array });
    }
    return grads;
  }

  async release(): Promise<void> {
    await this.fwd.release();
    await this.bwd?.release();
  }
}
