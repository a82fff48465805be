// Owns the ONNX model container: nodes, initializers, inputs/outputs, and their encoding to an ONNX ModelProto
// (onnx.proto field numbers). Knows nothing about networks; `onnx-ops.ts` emits nodes into it.

import { ProtoMessage } from './protobuf-writer.ts';

export const OPSET = 19;
const IR_VERSION = 9;
const FLOAT = 1;
const INT64 = 7;

export type AttrValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: typeof FLOAT | typeof INT64;
  readonly raw: Uint8Array;
}

interface ValueInfo { readonly name: string; readonly shape: readonly number[]; readonly type: typeof FLOAT | typeof INT64 }

export class OnnxModel {
  readonly nodes: OnnxNode[] = [];
  private readonly initializers = new Map<string, Initializer>();
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private counter = 0;

  fresh(hint: string): string { return `${hint}_${this.counter++}`; }

  hasInitializer(name: string): boolean { return this.initializers.has(name); }

  addFloatInitializer(name: string, dims: readonly number[], data: Float32Array): void {
    this.initializers.set(name, { name, dims, type: FLOAT, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }

  addInt64Initializer(name: string, values: readonly number[]): void {
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.set(name, { name, dims: [values.length], type: INT64, raw: new Uint8Array(a.buffer) });
  }

  addNode(node: OnnxNode): void { this.nodes.push(node); }

  addInput(name: string, shape: readonly number[], type: 'float' | 'int64' = 'float'): void {
    this.inputs.push({ name, shape, type: type === 'float' ? FLOAT : INT64 });
  }

  addOutput(name: string, shape: readonly number[], type: 'float' | 'int64' = 'float'): void {
    this.outputs.push({ name, shape, type: type === 'float' ? FLOAT : INT64 });
  }

  encode(graphName = 'refsr'): Uint8Array {
    const graph = new ProtoMessage();
    this.nodes.forEach((n, i) => graph.message(1, encodeNode(n, `n${i}_${n.op}`)));
    graph.string(2, graphName);
    for (const init of this.initializers.values()) {
      const t = new ProtoMessage();
      for (const d of init.dims) t.int(1, d);
      t.int(2, init.type).string(8, init.name).bytes(9, init.raw);
      graph.message(5, t);
    }
    for (const v of this.inputs) graph.message(11, encodeValueInfo(v));
    for (const v of this.outputs) graph.message(12, encodeValueInfo(v));
    const model = new ProtoMessage();
    model.int(1, IR_VERSION).string(2, 'refsr');
    model.message(8, new ProtoMessage().string(1, '').int(2, OPSET));
    model.message(7, graph);
    return model.finish();
  }
}

function encodeNode(n: OnnxNode, name: string): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.message(5, encodeAttr(k, v));
  return m;
}

function encodeAttr(name: string, v: AttrValue): ProtoMessage {
  const a = new ProtoMessage().string(1, name);
  if (typeof v === 'string') return a.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return a.int(3, v).int(20, 2);
    return a.float(2, v).int(20, 1);
  }
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  if ('floats' in v) {
    for (const f of v.floats) a.float(7, f);
    return a.int(20, 6);
  }
  for (const i of v as readonly number[]) a.int(8, i);
  return a.int(20, 7);
}

function encodeValueInfo(v: ValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  // A negative size marks a dynamic dimension (dim_param), e.g. the chunk length of the matching graph.
  v.shape.forEach((d, i) => shape.message(1, d >= 0 ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, `${v.name}_dim${i}`)));
  const tensorType = new ProtoMessage().int(1, v.type).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}
