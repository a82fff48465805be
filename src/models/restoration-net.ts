// Owns RestorationNet (content extractor + DynamicAggregationRestoration) in the full C2-Matching variant and the
// light variant from the paper. Official state_dict key names throughout, so checkpoints map 1:1.

import type { Ops } from '../graph/ops.ts';
import { conv, residualBody, LRELU_SLOPE } from './layers.ts';
import { dynamicAggregation, DEFORMABLE_GROUPS } from './dyn-agg.ts';
import { VGG_WIDTHS, type TrunkWidths } from './vgg-features.ts';

export interface RestorationConfig {
  readonly ngf: number;
  readonly contentBlocks: number;
  readonly smallBlocks: number;
  readonly mediumBlocks: number;
  readonly largeBlocks: number;
  /** The relu3_1 aggregation (small_offset_conv*, small_dyn_agg); the light variant drops it. */
  readonly smallAggregation: boolean;
  readonly groups: number;
  /**
   * Widths of the VGG-style trunks feeding it (reference VGG relu1_1/relu2_1/relu3_1, which the aggregations take
   * at full width, and the contrastive extractor); absent = VGG's 64/128/256. Only refsr's own models change it.
   */
  readonly trunkWidths?: TrunkWidths;
}

export type RestorationVariant = 'full' | 'light';

export const RESTORATION_VARIANTS: Record<RestorationVariant, RestorationConfig> = {
  full: { ngf: 64, contentBlocks: 16, smallBlocks: 16, mediumBlocks: 16, largeBlocks: 16, smallAggregation: true, groups: DEFORMABLE_GROUPS },
  light: { ngf: 64, contentBlocks: 16, smallBlocks: 16, mediumBlocks: 8, largeBlocks: 4, smallAggregation: false, groups: DEFORMABLE_GROUPS },
};

export interface RefLevel<T> {
  /** The whole reference feature map (any size) the DCN samples from. */
  readonly ref: T;
  /** The reference feature map cropped / zero-padded to this level's output grid (the official concat partner). */
  readonly refLocal: T;
  /** Correspondence pre-offsets on the output grid, DCN layout [1, 18, H, W]. */
  readonly preOffset: T;
}

export interface RestorationInputs<T> {
  /** LR image [1, 3, h, w] in [0, 1]. */
  readonly lr: T;
  readonly relu3_1?: RefLevel<T>;
  readonly relu2_1: RefLevel<T>;
  readonly relu1_1: RefLevel<T>;
}

export interface RestorationOutputs<T> {
  /** SR image [1, 3, 4h, 4w]: restore + bilinear x4 of the LR (not clamped). */
  readonly out: T;
  readonly restore: T;
  /**
   * The relu3_1-level aggregation after its LeakyReLU. (The official module applies that LeakyReLU in place, so the
   * tensor the reference reports as the DCN output already holds the activated values.)
   */
  readonly smallDynAggOut?: T;
}

type Stage = 'small' | 'medium' | 'large';

/** Channels of the reference features a stage aggregates: relu3_1, relu2_1, relu1_1. */
function refChannels(stage: Stage, cfg: RestorationConfig): number {
  const [c1, c2, c3] = cfg.trunkWidths ?? VGG_WIDTHS;
  return stage === 'small' ? c3 : stage === 'medium' ? c2 : c1;
}

function aggregate<T>(ops: Ops<T>, stage: Stage, x: T, level: RefLevel<T>, cfg: RestorationConfig): T {
  const c = refChannels(stage, cfg);
  const p = `dyn_agg_restore.${stage}`;
  let o = ops.leakyRelu(conv(ops, `${p}_offset_conv1`, ops.concat([x, level.refLocal], 1), cfg.ngf + c, c), LRELU_SLOPE);
  o = ops.leakyRelu(conv(ops, `${p}_offset_conv2`, o, c, c), LRELU_SLOPE);
  return ops.leakyRelu(dynamicAggregation(ops, `${p}_dyn_agg`, level.ref, o, level.preOffset, c, cfg.groups), LRELU_SLOPE);
}

function stageBody<T>(ops: Ops<T>, stage: Stage, x: T, agg: T | undefined, cfg: RestorationConfig, blocks: number): T {
  const nf = cfg.ngf;
  const headIn = agg ? ops.concat([x, agg], 1) : x;
  const headCin = agg ? nf + refChannels(stage, cfg) : nf;
  const h = ops.leakyRelu(conv(ops, `dyn_agg_restore.head_${stage}.0`, headIn, headCin, nf), LRELU_SLOPE);
  return ops.add(residualBody(ops, `dyn_agg_restore.body_${stage}`, h, nf, blocks), x);
}

function upTail<T>(ops: Ops<T>, stage: 'small' | 'medium', h: T, nf: number): T {
  return ops.leakyRelu(ops.pixelShuffle(conv(ops, `dyn_agg_restore.tail_${stage}.0`, h, nf, nf * 4), 2), LRELU_SLOPE);
}

export function restorationNet<T>(ops: Ops<T>, inp: RestorationInputs<T>, cfg: RestorationConfig): RestorationOutputs<T> {
  const nf = cfg.ngf;
  const base = ops.upsampleBilinear(inp.lr, 4);
  let x = ops.leakyRelu(conv(ops, 'content_extractor.conv_first', inp.lr, 3, nf), LRELU_SLOPE);
  x = residualBody(ops, 'content_extractor.body', x, nf, cfg.contentBlocks);

  let smallDynAggOut: T | undefined;
  let small: T | undefined;
  if (cfg.smallAggregation) {
    if (!inp.relu3_1) throw new Error('this restoration variant needs relu3_1 reference features');
    small = aggregate(ops, 'small', x, inp.relu3_1, cfg);
    smallDynAggOut = small;
  }
  x = upTail(ops, 'small', stageBody(ops, 'small', x, small, cfg, cfg.smallBlocks), nf);

  const medium = aggregate(ops, 'medium', x, inp.relu2_1, cfg);
  x = upTail(ops, 'medium', stageBody(ops, 'medium', x, medium, cfg, cfg.mediumBlocks), nf);

  const large = aggregate(ops, 'large', x, inp.relu1_1, cfg);
  const h = stageBody(ops, 'large', x, large, cfg, cfg.largeBlocks);
  const t = ops.leakyRelu(conv(ops, 'dyn_agg_restore.tail_large.0', h, nf, nf / 2), LRELU_SLOPE);
  const restore = conv(ops, 'dyn_agg_restore.tail_large.2', t, nf / 2, 3);
  return { out: ops.add(restore, base), restore, smallDynAggOut };
}
