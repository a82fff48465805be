// Owns running the Ref-VSR network (src/models/refvsr-arch.ts) on one clip on ONNX Runtime, as the official test
// forward does: per frame the contrastive extractor on the x4 up frame against the keyframe, the exact C2 matching
// on the host (src/matching), the relu1_1 pre-offsets, then the network graph on the LR frames. The whole clip is
// one graph: fine for the short clips of the golden case and tests; long clips run frame by frame
// (refvsr-stepwise.ts).

import { OnnxOps, type Sym } from '../graph/onnx-ops.ts';
import { OrtGraph, type SessionOptions } from '../graph/ort-session.ts';
import { refVsrExtractor, refVsrForward, refVsrKeyframeRelu1_1, isMirrorExtended, type RefVsrConfig, type ClipOutputs } from '../models/refvsr-arch.ts';
import { matchRows, matchExact } from '../matching/correspondence.ts';
import { flowFromIndex, preOffsetOfficial, toDcnLayout, type MatchIndex } from '../matching/pre-offset.ts';
import type { WeightMap } from '../weights/weight-map.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

export interface RefVsrClip {
  /** LR frames [1, 3, h, w] in [0, 1]. */
  readonly lrs: readonly Float32Tensor[];
  /** The matching inputs, [1, 3, 4h, 4w]: the official pipeline's redownsampled frames (GenerateUpImages). */
  readonly ups: readonly Float32Tensor[];
  /** The one HR reference frame [1, 3, 4h, 4w] (same size as the up frames, as the official DCN requires). */
  readonly keyframe: Float32Tensor;
}

export interface ClipMatching {
  /** Per frame: matched keyframe patch per LR position (and the margins when asked). */
  readonly matches: MatchIndex[];
  /** Per frame: flow [1, h, w, 2] (x, y) in LR cells (official index_to_flow). */
  readonly flows: Float32Tensor[];
  /** VGG19 relu1_1 of the keyframe [1, 64, 4h, 4w]. */
  readonly refRelu1_1: Float32Tensor;
}

async function runGraph(weights: WeightMap, opts: SessionOptions, inputs: Record<string, Float32Tensor>, build: (ops: OnnxOps, ins: Record<string, Sym>) => Record<string, Sym>): Promise<Record<string, Float32Tensor>> {
  const ops = new OnnxOps(weights.lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
  for (const [k, v] of Object.entries(build(ops, syms))) ops.output(v, k);
  const graph = await OrtGraph.create(ops.encode(), opts);
  try {
    return await graph.run(inputs);
  } finally {
    await graph.release();
  }
}

/** The keyframe's contrastive features (branch 2, [1, 256, h, w]) and VGG19 relu1_1 ([1, 64, 4h, 4w]). */
export async function keyframeFeatures(weights: WeightMap, keyframe: Float32Tensor, opts: SessionOptions = {}): Promise<{ contras: Float32Tensor; relu1_1: Float32Tensor }> {
  const o = await runGraph(weights, opts, { keyframe }, (ops, s) => ({
    contras: refVsrExtractor(ops, 2, s.keyframe!), relu1_1: refVsrKeyframeRelu1_1(ops, s.keyframe!),
  }));
  return { contras: o.contras!, relu1_1: o.relu1_1! };
}

/** The per-frame C2 matching against the keyframe (`net_extractor` + CorrespondenceGenerationArch, relu1_1 only). */
export async function matchClip(weights: WeightMap, clip: RefVsrClip, opts: SessionOptions & { withMargin?: boolean } = {}): Promise<ClipMatching> {
  const key = await keyframeFeatures(weights, clip.keyframe, opts);
  const ops = new OnnxOps(weights.lookup);
  ops.output(refVsrExtractor(ops, 1, ops.input('up', clip.ups[0]!.shape)), 'feat');
  const graph = await OrtGraph.create(ops.encode(), opts);
  const matches: MatchIndex[] = [];
  try {
    for (const up of clip.ups) {
      const { feat } = await graph.run({ up });
      const m = await matchRows(feat!, key.contras!, { threads: opts.threads });
      matches.push(opts.withMargin ? { ...m, margin: (await matchExact(feat!, key.contras!, { threads: opts.threads, withMargin: true })).margin } : m);
    }
  } finally {
    await graph.release();
  }
  return { matches, flows: matches.map(flowFromIndex), refRelu1_1: key.relu1_1! };
}

export type ClipResult = ClipOutputs<Float32Tensor>;

/**
 * The network on the LR frames, given the keyframe's relu1_1 and each frame's matching flow [1, h, w, 2] (LR cells;
 * the relu1_1 pre-offsets are 9 shifted copies of 4 x the flow repeated 4x4, official `tensor_shift`).
 */
export async function runRefVsrNetwork(weights: WeightMap, cfg: RefVsrConfig, lrs: readonly Float32Tensor[], refRelu1_1: Float32Tensor, flows: readonly Float32Tensor[], opts: SessionOptions = {}): Promise<ClipResult> {
  const t = lrs.length;
  const inputs: Record<string, Float32Tensor> = { ref_relu1_1: refRelu1_1 };
  lrs.forEach((lr, i) => { inputs[`lr_${i}`] = lr; });
  flows.forEach((f, i) => { inputs[`pre_${i}`] = toDcnLayout(preOffsetOfficial(f, 4)); });
  const mirrorExtended = isMirrorExtended(lrs);
  const names = ['out', 'flowsBackward', 'flowsForward', 'lrFeats', 'featsBackward', 'featsForward', 'dynAggs'] as const;
  const out = await runGraph(weights, opts, inputs, (ops, s) => {
    const r = refVsrForward(ops, cfg, {
      lrs: lrs.map((_, i) => s[`lr_${i}`]!), refRelu1_1: s.ref_relu1_1!, preOffsets: lrs.map((_, i) => s[`pre_${i}`]!), mirrorExtended,
    });
    const o: Record<string, Sym> = {};
    for (const n of names) r[n].forEach((v, i) => { o[`${n}_${i}`] = v; });
    return o;
  });
  const list = (n: (typeof names)[number], count: number) => Array.from({ length: count }, (_, i) => out[`${n}_${i}`]!);
  return {
    out: list('out', t), flowsBackward: list('flowsBackward', t - 1), flowsForward: mirrorExtended ? [] : list('flowsForward', t - 1),
    lrFeats: list('lrFeats', t), featsBackward: list('featsBackward', t), featsForward: list('featsForward', t), dynAggs: list('dynAggs', t),
  };
}
