// Owns the ONNX graph of one matching block: cosine correlation of a chunk of input patches against a chunk of
// (already normalised) reference patches, reduced to the best reference index and score per input patch.
// Shapes are dynamic so one session serves every chunk.

import { OnnxModel } from '../graph/onnx-model.ts';
import { OrtGraph } from '../graph/ort-session.ts';
import { ort } from '../graph/ort-runtime.ts';

export const PATCH_DIM = 256 * 9;

export class CorrelationBlock {
  private constructor(private readonly graph: OrtGraph, readonly dim: number) {}

  /**
   * @param withRunnerUp also report the second-best score per input patch (the match margin; diagnostics and the
   *                     golden near-tie rule). Uses TopK instead of ArgMax, which is slower.
   */
  static async create(dim = PATCH_DIM, threads?: number, withRunnerUp = false): Promise<CorrelationBlock> {
    if (withRunnerUp) return CorrelationBlock.createTop2(dim, threads);
    const m = new OnnxModel();
    m.addInput('in_patches', [-1, dim]);
    m.addInput('ref_patches', [-1, dim]);
    // corr[p, q] = <in_p, ref_q>; ArgMax keeps the first maximum (select_last_index = 0), as torch.max on CPU does.
    m.addNode({ op: 'Gemm', inputs: ['in_patches', 'ref_patches'], outputs: ['corr'], attrs: { transB: 1 } });
    m.addNode({ op: 'ArgMax', inputs: ['corr'], outputs: ['best_index'], attrs: { axis: 1, keepdims: 0, select_last_index: 0 } });
    m.addInt64Initializer('reduce_axes', [1]);
    m.addNode({ op: 'ReduceMax', inputs: ['corr', 'reduce_axes'], outputs: ['best_score'], attrs: { keepdims: 0 } });
    m.addOutput('best_index', [-1], 'int64');
    m.addOutput('best_score', [-1]);
    return new CorrelationBlock(await OrtGraph.create(m.encode(), { threads }), dim);
  }

  private static async createTop2(dim: number, threads?: number): Promise<CorrelationBlock> {
    const m = new OnnxModel();
    m.addInput('in_patches', [-1, dim]);
    m.addInput('ref_patches', [-1, dim]);
    m.addNode({ op: 'Gemm', inputs: ['in_patches', 'ref_patches'], outputs: ['corr'], attrs: { transB: 1 } });
    m.addInt64Initializer('k', [2]);
    m.addNode({ op: 'TopK', inputs: ['corr', 'k'], outputs: ['top_score', 'top_index'], attrs: { axis: 1, largest: 1, sorted: 1 } });
    m.addOutput('top_score', [-1, 2]);
    m.addOutput('top_index', [-1, 2], 'int64');
    const block = new CorrelationBlock(await OrtGraph.create(m.encode(), { threads }), dim);
    block.top2 = true;
    return block;
  }

  private top2 = false;

  /**
   * Best two reference rows (within this chunk) per input row; the runner-up score is -Infinity when the chunk has
   * one row. Ties between equal scores resolve to the lower index first.
   */
  async bestTwo(inPatches: Float32Array, nIn: number, refPatches: Float32Array, nRef: number): Promise<{ index: BigInt64Array; score: Float32Array; second: Float32Array }> {
    if (!this.top2) throw new Error('bestTwo needs a block created with withRunnerUp');
    if (nRef < 2) {
      const b = await this.best(inPatches, nIn, refPatches, nRef);
      return { ...b, second: new Float32Array(nIn).fill(-Infinity) };
    }
    const out = await this.graph.runRawTensors({
      in_patches: new ort.Tensor('float32', inPatches.subarray(0, nIn * this.dim), [nIn, this.dim]),
      ref_patches: new ort.Tensor('float32', refPatches.subarray(0, nRef * this.dim), [nRef, this.dim]),
    });
    const s = out.top_score!.data as Float32Array;
    const i = out.top_index!.data as BigInt64Array;
    const index = new BigInt64Array(nIn);
    const score = new Float32Array(nIn);
    const second = new Float32Array(nIn);
    for (let k = 0; k < nIn; k++) {
      // TopK does not promise the lower index first on exact ties; the reference (torch.max) does.
      const swap = s[2 * k] === s[2 * k + 1] && i[2 * k + 1]! < i[2 * k]!;
      index[k] = swap ? i[2 * k + 1]! : i[2 * k]!;
      score[k] = s[2 * k]!;
      second[k] = s[2 * k + 1]!;
    }
    return { index, score, second };
  }

  /** Best reference row (within this chunk) and its score for every input row. */
  async best(inPatches: Float32Array, nIn: number, refPatches: Float32Array, nRef: number): Promise<{ index: BigInt64Array; score: Float32Array }> {
    const out = await this.graph.runRawTensors({
      in_patches: new ort.Tensor('float32', inPatches.subarray(0, nIn * this.dim), [nIn, this.dim]),
      ref_patches: new ort.Tensor('float32', refPatches.subarray(0, nRef * this.dim), [nRef, this.dim]),
    });
    return { index: out.best_index!.data as BigInt64Array, score: out.best_score!.data as Float32Array };
  }

  async release(): Promise<void> { await this.graph.release(); }
}
