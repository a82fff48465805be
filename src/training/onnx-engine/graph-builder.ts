// Owns emitting ONNX nodes with static shapes for the training engine's two graphs (forward, backward): fresh names
// under a prefix, int64 / float constants it remembers (so the backward graph can copy a forward constant), and the
// handful of shape-tracking node helpers the tape and the backward rules share. No network or gradient knowledge.

import { OnnxModel, type AttrValue } from '../../graph/onnx-model.ts';
import { broadcastShape, type Sym } from '../../graph/onnx-ops.ts';
import { formatShape } from '../../tensor/host-tensor.ts';

export type { Sym };

export class GraphBuilder {
  readonly model = new OnnxModel();
  /** Float constants (initializers) by name, with their values. */
  readonly constants = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  readonly inputs = new Map<string, Sym>();
  readonly outputs = new Set<string>();
  private scalars = new Map<number, Sym>();

  constructor(private readonly prefix: string) {}

  fresh(hint: string): string { return this.model.fresh(`${this.prefix}${hint}`); }

  input(name: string, shape: readonly number[]): Sym {
    const have = this.inputs.get(name);
    if (have) return have;
    const s = { name, shape };
    this.model.addInput(name, shape);
    this.inputs.set(name, s);
    return s;
  }

  /** Makes `x` a graph output under its own name (once). */
  output(x: Sym): void {
    if (this.outputs.has(x.name)) return;
    if (this.inputs.has(x.name)) throw new Error(`graph input ${x.name} cannot be an output`);
    this.outputs.add(x.name);
    this.model.addOutput(x.name, x.shape);
  }

  constant(hint: string, shape: readonly number[], data: Float32Array): Sym {
    const name = this.fresh(hint);
    this.model.addFloatInitializer(name, shape, data);
    this.constants.set(name, { shape, data });
    return { name, shape };
  }

  /** A float scalar constant (shared per value). */
  scalar(v: number): Sym {
    let s = this.scalars.get(v);
    if (!s) {
      s = this.constant('scalar', [], Float32Array.of(v));
      this.scalars.set(v, s);
    }
    return s;
  }

  ints(values: readonly number[]): string {
    const name = this.fresh('i64');
    this.model.addInt64Initializer(name, values);
    return name;
  }

  node(op: string, inputs: readonly (Sym | string)[], shape: readonly number[], attrs?: Record<string, AttrValue>): Sym {
    const out = this.fresh(op.toLowerCase());
    this.model.addNode({ op, inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)), outputs: [out], attrs });
    return { name: out, shape };
  }

  reshape(x: Sym, shape: readonly number[]): Sym {
    if (numel(shape) !== numel(x.shape)) throw new Error(`reshape ${formatShape(x.shape)} -> ${formatShape(shape)}`);
    return this.node('Reshape', [x, this.ints(shape)], shape);
  }

  transpose(x: Sym, perm: readonly number[]): Sym {
    return this.node('Transpose', [x], perm.map((p) => x.shape[p]!), { perm });
  }

  reduceSum(x: Sym, axes: readonly number[], keepdims: boolean): Sym {
    const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return this.node('ReduceSum', [x, this.ints(axes)], shape, { keepdims: keepdims ? 1 : 0 });
  }

  slice(x: Sym, axes: readonly number[], starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Sym {
    const shape = [...x.shape];
    axes.forEach((a, i) => { shape[a] = Math.ceil((ends[i]! - starts[i]!) / (steps?.[i] ?? 1)); });
    return this.node('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes), ...(steps ? [this.ints(steps)] : [])], shape);
  }

  concat(xs: readonly Sym[], axis: number): Sym {
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
    return this.node('Concat', xs, shape, { axis });
  }

  /** Element-wise binary op with numpy broadcasting. */
  binary(op: 'Add' | 'Sub' | 'Mul' | 'Div', a: Sym, b: Sym): Sym { return this.node(op, [a, b], broadcastShape(a.shape, b.shape)); }
  add(a: Sym, b: Sym): Sym { return this.binary('Add', a, b); }
  sub(a: Sym, b: Sym): Sym { return this.binary('Sub', a, b); }
  mul(a: Sym, b: Sym): Sym { return this.binary('Mul', a, b); }
  div(a: Sym, b: Sym): Sym { return this.binary('Div', a, b); }
  neg(a: Sym): Sym { return this.node('Neg', [a], a.shape); }

  /** Sum of several values of equal shape. */
  sum(xs: readonly Sym[]): Sym { return xs.length === 1 ? xs[0]! : this.node('Sum', xs, xs[0]!.shape); }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

