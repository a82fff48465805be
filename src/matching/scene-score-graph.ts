// Owns the ONNX Runtime path of the scene score (scene-score.ts): the cosine matrix of two score grids as one Gemm,
// reduced both ways (best reference cell per input cell, best input cell per reference cell) in the same graph, so
// ranking an album costs one small session call per photo instead of a JavaScript triple loop (8x faster here
// on 32x21 grids of 64 channels; the JS function stays the definition, and the tests check that both agree).

import * as ort from 'onnxruntime-node';
import { OnnxModel } from '../graph/onnx-model.ts';
import { OrtGraph } from '../graph/ort-session.ts';
import { mutualPairs, type CellMatches, type ReferenceScore, type ScoreGrid } from './scene-score.ts';

export class SceneScorer {
  private constructor(private readonly graph: OrtGraph) {}

  static async create(threads?: number): Promise<SceneScorer> {
    const m = new OnnxModel();
    m.addInput('a', [-1, -1]);
    m.addInput('b', [-1, -1]);
    m.addNode({ op: 'Gemm', inputs: ['a', 'b'], outputs: ['corr'], attrs: { transB: 1 } });
    // ArgMax keeps the first maximum, as the JS definition's strict comparison does.
    m.addNode({ op: 'ArgMax', inputs: ['corr'], outputs: ['arg_in'], attrs: { axis: 1, keepdims: 0, select_last_index: 0 } });
    m.addNode({ op: 'ArgMax', inputs: ['corr'], outputs: ['arg_ref'], attrs: { axis: 0, keepdims: 0, select_last_index: 0 } });
    m.addInt64Initializer('axis1', [1]);
    m.addNode({ op: 'ReduceMax', inputs: ['corr', 'axis1'], outputs: ['best_in'], attrs: { keepdims: 0 } });
    m.addOutput('arg_in', [-1], 'int64');
    m.addOutput('arg_ref', [-1], 'int64');
    m.addOutput('best_in', [-1]);
    return new SceneScorer(await OrtGraph.create(m.encode(), { threads }));
  }

  async score(input: ScoreGrid, ref: ScoreGrid): Promise<ReferenceScore> {
    const { best, mutual } = await this.bestMatches(input, ref);
    let sum = 0;
    for (let i = 0; i < best.length; i++) sum += best[i]!;
    return { score: best.length ? sum / best.length : 0, mutual };
  }

  /** Per input cell the best cosine with any reference cell, the mutual-match share and the mutual pairs. */
  async bestMatches(input: ScoreGrid, ref: ScoreGrid): Promise<CellMatches> {
    const c = input.channels;
    if (ref.channels !== c) throw new Error(`SceneScorer: the grids have ${c} and ${ref.channels} channels`);
    const nIn = input.height * input.width;
    const nRef = ref.height * ref.width;
    if (nIn === 0 || nRef === 0) return { best: new Float32Array(0), mutual: 0, pairs: new Int32Array(0) };
    const out = await this.graph.runRawTensors({
      a: new ort.Tensor('float32', input.unit, [nIn, c]),
      b: new ort.Tensor('float32', ref.unit, [nRef, c]),
    });
    const best = out.best_in!.data as Float32Array;
    const argIn = Int32Array.from(out.arg_in!.data as BigInt64Array, Number);
    const argRef = Int32Array.from(out.arg_ref!.data as BigInt64Array, Number);
    return { best: new Float32Array(best), ...mutualPairs(argIn, argRef) };
  }

  async release(): Promise<void> { await this.graph.release(); }
}
