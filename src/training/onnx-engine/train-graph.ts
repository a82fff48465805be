// Owns running one network's training graphs at fixed input shapes: the forward segments (ONNX Runtime sessions)
// with the host ops between them, then the backward segments in reverse with the host ops' backward between them,
// summing gradient contributions by value name on the host. Parameters are graph inputs fed from their current
// values each step, so the sessions are built once per shape. The loss head runs wherever the caller likes
// (host / tfjs) between `forward` and `backward`.

import * as ort from 'onnxruntime-node';
import { OrtGraph } from '../../graph/ort-session.ts';
import { spinEnabled } from './step-engine.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { TapeOps, type HostEntry } from './tape-ops.ts';
import { buildBackward, GRAD_PREFIX, gradOutputName, type BackwardPlan } from './backward.ts';
import type { GraphBuilder, Sym } from './graph-builder.ts';
import { deformIm2col, deformIm2colBackward, im2colShapes } from './deform-im2col.ts';
import { flowWarp, flowWarpBackward, flowWarpShapes } from './flow-warp-host.ts';

/** A network over the op interface: named inputs in, named heads out. */
export type Network = (ops: TapeOps, inputs: Readonly<Record<string, Sym>>) => Record<string, Sym>;

export interface TrainGraphOptions {
  /** Intra-op threads of the sessions (default 1, see engineThreads). */
  readonly threads?: number;
  /** Whether a parameter gets a gradient (default all). */
  readonly trainable?: (name: string) => boolean;
  /** Forward only (frozen networks). */
  readonly forwardOnly?: boolean;
}

/** The forward pass of one step, kept for its backward pass: every value by name. */
export interface ForwardPass {
  readonly heads: Record<string, Float32Tensor>;
  readonly env: Map<string, ort.Tensor>;
}

export type ParamSource = (name: string) => Float32Tensor;

function tensor(t: Float32Tensor): ort.Tensor {
  return new ort.Tensor('float32', t.data, t.shape as number[]);
}

const f32 = (t: ort.Tensor) => t.data as Float32Array;

interface Segment { readonly b: GraphBuilder; readonly graph: OrtGraph }

export class TrainGraph {
  private constructor(
    private readonly tape: TapeOps,
    private readonly fwd: readonly (Segment | undefined)[],
    private readonly bwd: readonly (Segment & { outputs: readonly string[] } | undefined)[],
    private readonly plan: BackwardPlan | undefined,
    private readonly headSyms: Record<string, Sym>,
  ) {}

  static async build(net: Network, inputShapes: Readonly<Record<string, readonly number[]>>, opts: TrainGraphOptions = {}): Promise<TrainGraph> {
    const ops = new TapeOps(opts.forwardOnly ? () => false : opts.trainable);
    const inputs: Record<string, Sym> = {};
    for (const [k, s] of Object.entries(inputShapes)) inputs[k] = ops.input(k, s);
    const heads = net(ops, inputs);
    for (const h of Object.values(heads)) ops.expose(h);
    const plan = opts.forwardOnly ? undefined : buildBackward(ops, Object.values(heads));
    const threads = opts.threads ?? 1;
    const session = async (b: GraphBuilder, name: string) => OrtGraph.create(b.model.encode(name), { threads, spin: spinEnabled() });
    const fwd: (Segment | undefined)[] = [];
    for (const [j, b] of ops.segments.entries()) fwd.push(b.outputs.size ? { b, graph: await session(b, `refsr_forward_${j}`) } : undefined);
    const bwd: (Segment & { outputs: readonly string[] } | undefined)[] = [];
    for (const [j, s] of (plan?.segments ?? []).entries()) bwd[j] = s ? { b: s.b, outputs: s.outputs, graph: await session(s.b, `refsr_backward_${j}`) } : undefined;
    return new TrainGraph(ops, fwd, bwd, plan, heads);
  }

  /** Parameters the network reads. */
  get params(): string[] { return [...this.tape.params.keys()]; }
  /** Parameters that receive a gradient. */
  get gradParams(): readonly string[] { return this.plan?.params ?? []; }

  /** A forward value a host op reads: from the step's values, or a constant of the tape. */
  private hostValue(env: Map<string, ort.Tensor>, s: Sym): Float32Array {
    const t = env.get(s.name);
    if (t) return f32(t);
    const c = this.tape.constants.get(s.name);
    if (!c) throw new Error(`onnx engine: host op input ${s.name} was not computed`);
    return c.data;
  }

  private runHost(h: HostEntry, env: Map<string, ort.Tensor>): void {
    const v = (s: Sym) => this.hostValue(env, s);
    const y = h.op === 'deformIm2col'
      ? deformIm2col(im2colShapes(h.x.shape, h.offset.shape, h.mask.shape, h.groups), v(h.x), v(h.offset), v(h.mask))
      : flowWarp(flowWarpShapes(h.x.shape, h.flow.shape, h.padding), v(h.x), v(h.flow));
    env.set(h.y.name, new ort.Tensor('float32', y, h.y.shape as number[]));
  }

  /** A host op's backward: adds the gradients of its inputs that need one, given dY. */
  private hostBackward(h: HostEntry, env: Map<string, ort.Tensor>, dy: Float32Array, add: (name: string, g: Float32Array) => void): void {
    const v = (s: Sym) => this.hostValue(env, s);
    const need = (s: Sym) => this.tape.needsGrad.has(s.name);
    if (h.op === 'deformIm2col') {
      const s = im2colShapes(h.x.shape, h.offset.shape, h.mask.shape, h.groups);
      const r = deformIm2colBackward(s, v(h.x), v(h.offset), v(h.mask), dy, need(h.x));
      if (need(h.offset)) add(h.offset.name, r.offset);
      if (need(h.mask)) add(h.mask.name, r.mask);
      if (need(h.x) && r.x) add(h.x.name, r.x);
    } else {
      const r = flowWarpBackward(flowWarpShapes(h.x.shape, h.flow.shape, h.padding), v(h.x), v(h.flow), dy, need(h.x), need(h.flow));
      if (r.x) add(h.x.name, r.x);
      if (r.flow) add(h.flow.name, r.flow);
    }
  }

  async forward(inputs: Readonly<Record<string, Float32Tensor>>, param: ParamSource): Promise<ForwardPass> {
    const env = new Map<string, ort.Tensor>();
    for (const [k, v] of Object.entries(inputs)) env.set(k, tensor(v));
    for (const p of this.tape.params.keys()) env.set(p, tensor(param(p)));
    for (const [j, seg] of this.fwd.entries()) {
      if (seg) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const name of seg.b.inputs.keys()) feeds[name] = env.get(name)!;
        const out = await seg.graph.runRawTensors(feeds);
        for (const [k, v] of Object.entries(out)) env.set(k, v);
      }
      for (const h of this.tape.host) if (h.after === j) this.runHost(h, env);
    }
    const heads: Record<string, Float32Tensor> = {};
    for (const [k, s] of Object.entries(this.headSyms)) heads[k] = { shape: s.shape, data: f32(env.get(s.name)!) };
    return { heads, env };
  }

  /** Gradients of every trainable parameter, given the gradient of each head (by head key). */
  async backward(pass: ForwardPass, headGrads: Readonly<Record<string, Float32Tensor>>): Promise<Map<string, Float32Tensor>> {
    if (!this.plan) throw new Error('forward-only graph has no backward pass');
    const grads = new Map<string, Float32Array>();
    const add = (name: string, g: Float32Array) => {
      const have = grads.get(name);
      if (!have) grads.set(name, g.slice());
      else for (let i = 0; i < g.length; i++) have[i] += g[i]!;
    };
    for (const [k, s] of Object.entries(this.headSyms)) {
      const g = headGrads[k];
      if (!g) throw new Error(`onnx engine: no gradient given for head ${k}`);
      add(s.name, g.data);
    }
    for (let j = this.tape.segments.length - 1; j >= 0; j--) {
      const seg = this.bwd[j];
      if (seg) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, s] of seg.b.inputs) {
          if (name.startsWith(GRAD_PREFIX)) {
            const g = grads.get(name.slice(GRAD_PREFIX.length)) ?? new Float32Array(s.shape.reduce((a, b) => a * b, 1));
            feeds[name] = new ort.Tensor('float32', g, s.shape as number[]);
          } else {
            feeds[name] = pass.env.get(name)!;
          }
        }
        const out = await seg.graph.runRawTensors(feeds);
        for (const name of seg.outputs) add(name, f32(out[gradOutputName(j, name)]!));
      }
      for (const h of this.plan.host) {
        if (h.after !== j - 1) continue;
        const dy = grads.get(h.y.name);
        if (dy) this.hostBackward(h, pass.env, dy, add);
      }
    }
    const out = new Map<string, Float32Tensor>();
    for (const p of this.plan.params) out.set(p, { shape: this.tape.params.get(p)!.shape, data: grads.get(p)! });
    return out;
  }

  async release(): Promise<void> {
    for (const s of [...this.fwd, ...this.bwd]) await s?.graph.release();
  }
}
