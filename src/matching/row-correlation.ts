// Owns the fast exact correlation of matching. A 3x3 patch correlation is the sum over the three patch rows i of
// 1x3 row-patch correlations between input row y+i and reference row q+i. So one Gemm of 1x3 row patches (768 dims
// instead of 2304: a third of the work) followed by the sum of three row-shifted slices gives every 3x3 patch score
// of a block of input rows against a block of reference rows. Scaled by 1/(reference patch norm + 1e-5) and
// reduced by ArgMax (first maximum) per input patch, it is the reference's feature_match_index up to float32
// summation order.

import { ort } from '../graph/ort-runtime.ts';
import { OnnxModel } from '../graph/onnx-model.ts';
import { OrtGraph } from '../graph/ort-session.ts';
import type { FeatureGrid } from './patches.ts';

/** 1x3 row patches of a feature grid: [h, w-2, 3C] with element order (c, j). */
export interface RowPatches {
  readonly h: number;
  readonly pw: number;
  readonly dim: number;
  readonly data: Float32Array;
  /** Squared L2 norm of every row patch, [h, w-2]. */
  readonly sq: Float64Array;
}

export function rowPatches(g: FeatureGrid): RowPatches {
  const { channels: c, h, w, data } = g;
  const pw = w - 2;
  const dim = 3 * c;
  const out = new Float32Array(h * pw * dim);
  const sq = new Float64Array(h * pw);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < pw; x++) {
      const row = (y * pw + x) * dim;
      let s = 0;
      for (let k = 0; k < c; k++) {
        const src = (k * h + y) * w + x;
        const v0 = data[src]!;
        const v1 = data[src + 1]!;
        const v2 = data[src + 2]!;
        out[row + 3 * k] = v0;
        out[row + 3 * k + 1] = v1;
        out[row + 3 * k + 2] = v2;
        s += v0 * v0 + v1 * v1 + v2 * v2;
      }
      sq[y * pw + x] = s;
    }
  }
  return { h, pw, dim, data: out, sq };
}

/** Norm of the 3x3 patch at (y, x): sqrt of the three row-patch squared norms. */
export function patchNorms(r: RowPatches): Float32Array {
  const ph = r.h - 2;
  const out = new Float32Array(ph * r.pw);
  for (let y = 0; y < ph; y++) for (let x = 0; x < r.pw; x++) {
    const i = y * r.pw + x;
    out[i] = Math.sqrt(r.sq[i]! + r.sq[i + r.pw]! + r.sq[i + 2 * r.pw]!);
  }
  return out;
}

export class RowCorrelation {
  /** ONNX sessions created so far in this process (each holds its own memory arena; tests check blocks share one). */
  static sessionsCreated = 0;
  private readonly sessions = new Map<string, Promise<OrtGraph>>();

  constructor(private readonly pwIn: number, private readonly pwRef: number, private readonly dim: number, private readonly threads?: number) {}

  private graph(rows: number, refRows: number): Promise<OrtGraph> {
    const key = `${rows}x${refRows}`;
    let g = this.sessions.get(key);
    if (!g) {
      g = OrtGraph.create(this.build(rows, refRows), { threads: this.threads });
      RowCorrelation.sessionsCreated++;
      this.sessions.set(key, g);
    }
    return g;
  }

  private build(R: number, Q: number): Uint8Array {
    const m = new OnnxModel();
    const { pwIn, pwRef, dim } = this;
    m.addInput('a', [(R + 2) * pwIn, dim]);
    m.addInput('b', [(Q + 2) * pwRef, dim]);
    m.addInput('inv_norm', [Q, pwRef]);
    m.addNode({ op: 'Gemm', inputs: ['a', 'b'], outputs: ['rows'], attrs: { transB: 1 } });
    m.addInt64Initializer('shape4', [R + 2, pwIn, Q + 2, pwRef]);
    m.addNode({ op: 'Reshape', inputs: ['rows', 'shape4'], outputs: ['rows4'] });
    m.addInt64Initializer('axes', [0, 2]);
    const shifted: string[] = [];
    for (let i = 0; i < 3; i++) {
      m.addInt64Initializer(`starts${i}`, [i, i]);
      m.addInt64Initializer(`ends${i}`, [i + R, i + Q]);
      m.addNode({ op: 'Slice', inputs: ['rows4', `starts${i}`, `ends${i}`, 'axes'], outputs: [`shift${i}`] });
      shifted.push(`shift${i}`);
    }
    m.addNode({ op: 'Sum', inputs: shifted, outputs: ['corr4'] });
    m.addNode({ op: 'Mul', inputs: ['corr4', 'inv_norm'], outputs: ['scaled4'] });
    m.addInt64Initializer('shape2', [R * pwIn, Q * pwRef]);
    m.addNode({ op: 'Reshape', inputs: ['scaled4', 'shape2'], outputs: ['scaled'] });
    m.addNode({ op: 'ArgMax', inputs: ['scaled'], outputs: ['best_index'], attrs: { axis: 1, keepdims: 0, select_last_index: 0 } });
    m.addInt64Initializer('reduce_axes', [1]);
    m.addNode({ op: 'ReduceMax', inputs: ['scaled', 'reduce_axes'], outputs: ['best_score'], attrs: { keepdims: 0 } });
    m.addOutput('best_index', [R * pwIn], 'int64');
    m.addOutput('best_score', [R * pwIn]);
    return m.encode();
  }

  /**
   * Best reference patch among reference patch rows [q0, q0+Q) for every input patch in rows [y0, y0+R).
   * Indices are relative to the block (row-major over Q x pwRef).
   */
  async block(inRows: RowPatches, y0: number, R: number, refRows: RowPatches, q0: number, Q: number, invNorm: Float32Array): Promise<{ index: BigInt64Array; score: Float32Array }> {
    const g = await this.graph(R, Q);
    const a = inRows.data.subarray(y0 * this.pwIn * this.dim, (y0 + R + 2) * this.pwIn * this.dim);
    const b = refRows.data.subarray(q0 * this.pwRef * this.dim, (q0 + Q + 2) * this.pwRef * this.dim);
    const out = await g.runRawTensors({
      a: new ort.Tensor('float32', a, [(R + 2) * this.pwIn, this.dim]),
      b: new ort.Tensor('float32', b, [(Q + 2) * this.pwRef, this.dim]),
      inv_norm: new ort.Tensor('float32', invNorm.subarray(q0 * this.pwRef, (q0 + Q) * this.pwRef), [Q, this.pwRef]),
    });
    return { index: out.best_index!.data as BigInt64Array, score: out.best_score!.data as Float32Array };
  }

  async release(): Promise<void> {
    for (const g of this.sessions.values()) await (await g).release();
    this.sessions.clear();
  }
}
