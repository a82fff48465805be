// Owns MRefSR's multi-reference restoration network (official MRAPARestorationNet, github wdmwhh/MRefSR): the
// content extractor, then per level the C2-Matching dynamic aggregation run once per reference with shared weights,
// fused by MRAPAFusion (per-pixel softmax attention over the references, spatial attention, 1x1 fusion, on maps
// reflect-padded to a multiple of 4), a residual body and the upsampling tail. Any number of references; the
// reference widths, block count and deformable groups are read from the weights. Official state_dict key names.

import type { Ops } from '../graph/ops.ts';
import { conv, residualBody, LRELU_SLOPE } from './layers.ts';
import { dynamicAggregation, DEFORMABLE_GROUPS } from './dyn-agg.ts';
import type { RefLevel } from './restoration-net.ts';

export type MRefLevelKey = 'relu3_1' | 'relu2_1' | 'relu1_1';
export type MRefStage = 'small' | 'medium' | 'large';

/** The three levels in forward order: (stage, VGG tap), at 1x, 2x and 4x the LR grid. */
export const MREF_LEVELS: readonly { readonly stage: MRefStage; readonly key: MRefLevelKey; readonly scale: number }[] = [
  { stage: 'small', key: 'relu3_1', scale: 1 },
  { stage: 'medium', key: 'relu2_1', scale: 2 },
  { stage: 'large', key: 'relu1_1', scale: 4 },
];

export interface MRefConfig {
  readonly ngf: number;
  /** n_blocks: residual blocks of the content extractor and of every level's body. */
  readonly blocks: number;
  readonly groups: number;
  /** Reference feature widths per VGG tap (official literals: 64 / 128 / 256). */
  readonly refWidths: Readonly<Record<MRefLevelKey, number>>;
  /**
   * refsr's own models only (absent in the official network): residual blocks of the content extractor and of each
   * level's body when they differ (then `blocks` is the content extractor's), as C2-Matching's light variant.
   */
  readonly levelBlocks?: Readonly<{ content: number } & Record<MRefStage, number>>;
  /**
   * refsr's own models only: `false` drops the relu3_1 aggregation as C2-Matching's light variant does; the small
   * level's head is then C2-Matching's plain `head_small.0` conv of the content features (no reference there).
   */
  readonly smallAggregation?: false;
}

/** Residual blocks of the content extractor (`content`) or of a level's body. */
export function mrefBlocks(cfg: MRefConfig, part: 'content' | MRefStage): number {
  return cfg.levelBlocks?.[part] ?? cfg.blocks;
}

/** The levels that aggregate references (all three in the official network). */
export function mrefAggregatedLevels(cfg: MRefConfig): typeof MREF_LEVELS {
  return cfg.smallAggregation === false ? MREF_LEVELS.filter((l) => l.stage !== 'small') : MREF_LEVELS;
}

/** The official constructor's defaults: MRAPARestorationNet(ngf=64, n_blocks=16, groups=8). */
export const MREF_OFFICIAL: MRefConfig = { ngf: 64, blocks: 16, groups: DEFORMABLE_GROUPS, refWidths: { relu1_1: 64, relu2_1: 128, relu3_1: 256 } };

/** One reference's inputs: its feature maps and correspondence pre-offsets at the three levels (relu3_1 absent when the config has no small aggregation). */
export type MRefReference<T> = Readonly<Record<'relu2_1' | 'relu1_1', RefLevel<T>>> & { readonly relu3_1?: RefLevel<T> };

export interface MRefInputs<T> {
  /** LR image [1, 3, h, w] in [0, 1]. */
  readonly lr: T;
  /** One entry per reference (t >= 1); the output does not depend on their order. */
  readonly refs: readonly MRefReference<T>[];
}

export interface MRefOutputs<T> {
  /** SR image [1, 3, 4h, 4w]: restore + bilinear x4 of the LR (not clamped). */
  readonly out: T;
  readonly restore: T;
}

/**
 * Receives named intermediates for parity checks (names as the golden `mref` case): `content_feat`,
 * `<stage>_conv_offset_mask_out/<r>` (conv_offset_mask output) and `<stage>_dyn_agg_out/<r>` per reference r (the DynAgg output before its
 * LeakyReLU), `head_<stage>_conv_emb1_out`, `head_<stage>_conv_emb2_out/<r>`, `head_<stage>_attn_prob`,
 * `head_<stage>_spatial_attn_out` (before its LeakyReLU; all on the padded grid), `head_<stage>_out`,
 * `body_<stage>_out` (before the skip).
 */
export type MRefProbe<T> = (name: string, value: T) => void;

/** nn.PReLU() with one shared slope: relu(x) + a * min(x, 0). */
function prelu<T>(ops: Ops<T>, name: string, x: T): T {
  const r = ops.relu(x);
  return ops.add(r, ops.mul(ops.sub(x, r), ops.param(`${name}.weight`, [1])));
}

/** One reference's aggregated features at one level: offset convs, DynAgg, LeakyReLU (official per-ref loop body). */
function aggregateOne<T>(ops: Ops<T>, stage: MRefStage, x: T, level: RefLevel<T>, c: number, cfg: MRefConfig, r: number, probe?: MRefProbe<T>): T {
  const p = `dyn_agg_restore.${stage}`;
  let o = ops.leakyRelu(conv(ops, `${p}_offset_conv1`, ops.concat([x, level.refLocal], 1), cfg.ngf + c, c), LRELU_SLOPE);
  o = ops.leakyRelu(conv(ops, `${p}_offset_conv2`, o, c, c), LRELU_SLOPE);
  const onOm = probe ? (om: T) => probe(`${stage}_conv_offset_mask_out/${r}`, om) : undefined;
  const d = dynamicAggregation(ops, `${p}_dyn_agg`, level.ref, o, level.preOffset, c, cfg.groups, onOm);
  probe?.(`${stage}_dyn_agg_out/${r}`, d);
  return ops.leakyRelu(d, LRELU_SLOPE);
}

/**
 * MRAPAFusion(nf=ngf, ref_nf=c): target [1, nf, h, w] and t aggregated references [1, c, h, w] -> [1, nf, h, w].
 * Everything runs on the maps reflect-padded at the bottom/right to a multiple of 4; only the output is cropped.
 */
export function mrapaFusion<T>(ops: Ops<T>, name: string, target: T, refs: readonly T[], nf: number, c: number, probe?: MRefProbe<T>): T {
  const [, , h, w] = ops.shape(target) as [number, number, number, number];
  const pad = (z: T) => ops.padReflectBottomRight(z, (4 - (h % 4)) % 4, (4 - (w % 4)) % 4);
  const tgt = pad(target);
  const rs = refs.map(pad);
  const e1 = prelu(ops, `${name}.conv_emb1.1`, conv(ops, `${name}.conv_emb1.0`, tgt, nf, c, 1));
  probe?.(`${name}_conv_emb1_out`, e1);
  const q = ops.mul(e1, ops.constant(`${name}.scale`, [], Float32Array.of(c ** -0.5)));
  // <q, e2_r> per pixel: the elementwise product summed over channels by a 1x1 conv with unit weights.
  const ones = ops.constant(`${name}.channel_sum`, [1, c, 1, 1], new Float32Array(c).fill(1));
  const logits: T[] = [];
  const values: T[] = [];
  rs.forEach((ref, r) => {
    const e2 = prelu(ops, `${name}.conv_emb2.1`, conv(ops, `${name}.conv_emb2.0`, ref, c, c));
    probe?.(`${name}_conv_emb2_out/${r}`, e2);
    logits.push(ops.conv2d(ops.mul(q, e2), ones, undefined, { pad: 0 }));
    values.push(conv(ops, `${name}.conv_ass`, ref, c, 2 * c));
  });
  const prob = ops.softmaxChannels(logits.length === 1 ? logits[0]! : ops.concat(logits, 1));
  probe?.(`${name}_attn_prob`, prob);
  let agg = values.map((v, r) => ops.mul(v, ops.sliceChannels(prob, r, r + 1))).reduce((a, b) => ops.add(a, b));
  const sRaw = conv(ops, `${name}.spatial_attn`, ops.concat([tgt, agg], 1), nf + 2 * c, 2 * c, 1);
  probe?.(`${name}_spatial_attn_out`, sRaw);
  const s = ops.leakyRelu(sRaw, LRELU_SLOPE);
  const gate = ops.sigmoid(conv(ops, `${name}.spatial_attn_mul2`, ops.leakyRelu(conv(ops, `${name}.spatial_attn_mul1`, s, 2 * c, 2 * c), LRELU_SLOPE), 2 * c, 2 * c));
  const shift = conv(ops, `${name}.spatial_attn_add2`, ops.leakyRelu(conv(ops, `${name}.spatial_attn_add1`, s, 2 * c, 2 * c), LRELU_SLOPE), 2 * c, 2 * c);
  agg = ops.add(ops.mul(ops.mul(agg, gate), ops.constant(`${name}.two`, [], Float32Array.of(2))), shift);
  const fused = ops.leakyRelu(conv(ops, `${name}.feat_fusion`, ops.concat([tgt, agg], 1), nf + 2 * c, nf, 1), LRELU_SLOPE);
  return ops.cropTopLeft(fused, h, w);
}

export function mrefRestorationNet<T>(ops: Ops<T>, inp: MRefInputs<T>, cfg: MRefConfig, probe?: MRefProbe<T>): MRefOutputs<T> {
  if (inp.refs.length === 0) throw new Error('the multi-reference network needs at least one reference');
  const nf = cfg.ngf;
  const base = ops.upsampleBilinear(inp.lr, 4);
  let x = ops.leakyRelu(conv(ops, 'content_extractor.conv_first', inp.lr, 3, nf), LRELU_SLOPE);
  x = residualBody(ops, 'content_extractor.body', x, nf, mrefBlocks(cfg, 'content'));
  probe?.('content_feat', x);
  let restore: T | undefined;
  for (const { stage, key } of MREF_LEVELS) {
    let head: T;
    if (stage === 'small' && cfg.smallAggregation === false) {
      head = ops.leakyRelu(conv(ops, 'dyn_agg_restore.head_small.0', x, nf, nf), LRELU_SLOPE);
    } else {
      const c = cfg.refWidths[key];
      const swapped = inp.refs.map((ref, r) => {
        const level = ref[key];
        if (!level) throw new Error(`the multi-reference network needs ${key} features of reference ${r + 1}`);
        return aggregateOne(ops, stage, x, level, c, cfg, r, probe);
      });
      head = mrapaFusion(ops, `dyn_agg_restore.head_${stage}`, x, swapped, nf, c, probe && ((n, v) => probe(n.replace('dyn_agg_restore.', ''), v)));
    }
    probe?.(`head_${stage}_out`, head);
    const body = residualBody(ops, `dyn_agg_restore.body_${stage}`, head, nf, mrefBlocks(cfg, stage));
    probe?.(`body_${stage}_out`, body);
    const h = ops.add(body, x);
    if (stage === 'large') {
      const half = Math.floor(nf / 2); // ngf // 2
      const t = ops.leakyRelu(conv(ops, 'dyn_agg_restore.tail_large.0', h, nf, half), LRELU_SLOPE);
      restore = conv(ops, 'dyn_agg_restore.tail_large.2', t, half, 3);
    } else {
      x = ops.leakyRelu(ops.pixelShuffle(conv(ops, `dyn_agg_restore.tail_${stage}.0`, h, nf, nf * 4), 2), LRELU_SLOPE);
    }
  }
  return { out: ops.add(restore!, base), restore: restore! };
}
