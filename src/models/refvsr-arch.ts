// Owns the Ref-VSR network of C2-Matching's video branch, `RefBasicVSRLRFeatConvAttnLargeNet` (mmedit fork,
// branch RefVSR), on the op interface with the official state_dict keys: SPyNet flows between neighbouring LR
// frames, LR features, backward then forward propagation (flow-warped, zero padding) through residual blocks, and
// per frame a x4 reconstruction that fuses the upsampled backward / forward features (sigmoid-gated) with the
// keyframe's VGG19 relu1_1 aggregated by a modulated deformable conv at the C2 correspondences (third gate), plus a
// bilinear x4 skip. Also the matching-side networks (`net_extractor` = ContrasExtractorSep, `net_map.vgg` relu1_1).
// The correspondence search itself runs on the host between graphs (src/pipeline/refvsr-clip.ts).
//
// The network is written as steps (LR features, one propagation step, one frame's reconstruction) so that a
// runtime can run it per frame; `refVsrForward` composes them for a whole clip exactly as the official forward.

import type { Ops } from '../graph/ops.ts';
import { conv, residualBody, LRELU_SLOPE } from './layers.ts';
import { dynamicAggregation, DEFORMABLE_GROUPS } from './dyn-agg.ts';
import { spynetFlow } from './spynet-arch.ts';
import { contrasBranch, type ContrasBranch } from './contras-extractor.ts';
import { normalizeInput, VGG_WIDTHS } from './vgg-features.ts';

/**
 * mid_channels of the released model: 64 (fusion takes 3 x 64, conv_hr, the gates and the DCN are 64). refsr's own
 * reduced models may set `mid` lower; the DCN then maps the keyframe's 64 relu1_1 channels to `mid`.
 */
export const REFVSR_MID = 64;
/** Channels of the keyframe's VGG19 relu1_1 (what the DCN samples), whatever `mid` is. */
export const REFVSR_REF_CHANNELS = 64;

export interface RefVsrConfig {
  /** Residual blocks in each of lr_resblocks, backward_resblocks and forward_resblocks (released model: 30). */
  readonly numBlocks: number;
  /** Deformable groups of large_dyn_agg (released: 8). */
  readonly groups: number;
  /** mid_channels (released and default: 64). */
  readonly mid?: number;
}

/** mid_channels of a config. */
export function midOf(cfg: RefVsrConfig): number { return cfg.mid ?? REFVSR_MID; }

export const REFVSR_RELEASED: RefVsrConfig = { numBlocks: 30, groups: DEFORMABLE_GROUPS };

/** Key prefix of the contrastive extractor inside the generator. */
export const REFVSR_EXTRACTOR_PREFIX = 'net_extractor.';
export const REFVSR_SPYNET_PREFIX = 'spynet';

const lrelu = <T>(ops: Ops<T>, x: T) => ops.leakyRelu(x, LRELU_SLOPE);

/** ResidualBlocksWithInputConv: `main.0` conv 3x3, LeakyReLU 0.1, `main.2.k` ResidualBlockNoBN. */
function residualBlocksWithInputConv<T>(ops: Ops<T>, name: string, x: T, cin: number, mid: number, blocks: number): T {
  const h = lrelu(ops, conv(ops, `${name}.main.0`, x, cin, mid));
  return residualBody(ops, `${name}.main.2`, h, mid, blocks);
}

/** `lr_resblocks(lr)`: [1, 3, h, w] -> [1, 64, h, w]. */
export function lrFeatures<T>(ops: Ops<T>, cfg: RefVsrConfig, lr: T): T {
  return residualBlocksWithInputConv(ops, 'lr_resblocks', lr, 3, midOf(cfg), cfg.numBlocks);
}

/**
 * One propagation step: the previous frame's propagated feature warped onto this frame by `flow` (zero padding),
 * concatenated after this frame's LR feature, through `<direction>_resblocks`. The first step of a direction has no
 * previous feature (zeros).
 */
export function propagateStep<T>(ops: Ops<T>, cfg: RefVsrConfig, direction: 'backward' | 'forward', lrFeat: T, prev?: { feat: T; flow: T }): T {
  const [n, c, h, w] = ops.shape(lrFeat) as [number, number, number, number];
  const carried = prev ? ops.flowWarp(prev.feat, prev.flow, 'zeros') : ops.constant(`${direction}_zero_feat`, [n, c, h, w], new Float32Array(n * c * h * w));
  return residualBlocksWithInputConv(ops, `${direction}_resblocks`, ops.concat([lrFeat, carried], 1), 2 * midOf(cfg), midOf(cfg), cfg.numBlocks);
}

/** lrelu(upsample2(lrelu(upsample1(x)))): two PixelShufflePack x2 (conv 64 -> 256, pixel_shuffle 2). */
function upsample<T>(ops: Ops<T>, x: T, mid: number): T {
  const u1 = lrelu(ops, ops.pixelShuffle(conv(ops, 'upsample1.upsample_conv', x, mid, 4 * mid), 2));
  return lrelu(ops, ops.pixelShuffle(conv(ops, 'upsample2.upsample_conv', u1, mid, 4 * mid), 2));
}

/** A gate: Sigmoid(1x1 64->64 (lrelu(1x1 64->64 (lrelu(1x1 128->64 (cat[a, b])))))). */
function attention<T>(ops: Ops<T>, name: string, a: T, b: T, mid: number): T {
  let h = lrelu(ops, conv(ops, `${name}.0`, ops.concat([a, b], 1), 2 * mid, mid, 1));
  h = lrelu(ops, conv(ops, `${name}.2`, h, mid, mid, 1));
  return ops.sigmoid(conv(ops, `${name}.4`, h, mid, mid, 1));
}

export interface FrameInputs<T> {
  /** The LR frame [1, 3, h, w] in [0, 1] (for the bilinear x4 skip). */
  readonly lr: T;
  readonly lrFeat: T;
  readonly featBackward: T;
  readonly featForward: T;
  /** VGG19 relu1_1 of the keyframe [1, 64, 4h, 4w] in the official network; any size here (the DCN samples it). */
  readonly refRelu1_1: T;
  /**
   * What the offset branch (large_offset_conv1) sees of the keyframe on this frame's HR grid [1, 64, 4h, 4w]: the
   * keyframe's relu1_1 cropped or zero-padded to the frame (or tile) window. Omitted: refRelu1_1 itself, which is
   * the official computation (keyframe at the HR frame size).
   */
  readonly refLocal?: T;
  /** relu1_1 pre-offsets of this frame in DCN channel layout [1, 18, 4h, 4w] (channel 2t = dy, 2t+1 = dx). */
  readonly preOffset: T;
}

export interface FrameOutputs<T> {
  /** [1, 3, 4h, 4w], not clamped. */
  readonly out: T;
  /** large_dyn_agg output before its LeakyReLU. */
  readonly dynAgg: T;
}

/** One frame's reconstruction (the body of the official forward-time loop after the propagation). */
export function reconstructFrame<T>(ops: Ops<T>, cfg: RefVsrConfig, f: FrameInputs<T>): FrameOutputs<T> {
  const mid = midOf(cfg);
  const lrUp = upsample(ops, f.lrFeat, mid);
  let fb = upsample(ops, f.featBackward, mid);
  fb = ops.mul(fb, attention(ops, 'backward_attention', lrUp, fb, mid));
  let ff = upsample(ops, f.featForward, mid);
  ff = ops.mul(ff, attention(ops, 'forward_attention', lrUp, ff, mid));
  let o = lrelu(ops, conv(ops, 'large_offset_conv1', ops.concat([lrUp, f.refLocal ?? f.refRelu1_1], 1), mid + REFVSR_REF_CHANNELS, mid));
  o = lrelu(ops, conv(ops, 'large_offset_conv2', o, mid, mid));
  const dynAgg = dynamicAggregation(ops, 'large_dyn_agg', f.refRelu1_1, o, f.preOffset, mid, cfg.groups, undefined, REFVSR_REF_CHANNELS);
  let s = lrelu(ops, dynAgg);
  s = ops.mul(s, attention(ops, 'swap_attention', lrUp, s, mid));
  let out = lrelu(ops, conv(ops, 'fusion', ops.concat([s, ff, fb], 1), 3 * mid, mid, 1));
  out = lrelu(ops, conv(ops, 'conv_hr.2', lrelu(ops, conv(ops, 'conv_hr.0', out, mid, mid)), mid, mid));
  out = conv(ops, 'conv_last', out, mid, 3);
  return { out: ops.add(out, ops.upsampleBilinear(f.lr, 4)), dynAgg };
}

export interface ClipInputs<T> {
  /** LR frames, each [1, 3, h, w] in [0, 1]; h, w >= 64 (asserted by the official forward). */
  readonly lrs: readonly T[];
  readonly refRelu1_1: T;
  /** Per frame, DCN-layout relu1_1 pre-offsets [1, 18, 4h, 4w]. */
  readonly preOffsets: readonly T[];
  /**
   * The official `check_if_mirror_extended` result (even t and the second half the first half reversed): then the
   * forward flows are not computed and the backward flow of the mirrored pair is used. Decided on the host.
   */
  readonly mirrorExtended?: boolean;
  /**
   * Smallest LR side accepted (default 64, the official assert). Training on small patches lowers it: SPyNet's
   * pyramid then only has coarser levels of 1-2 px, which the network tolerates.
   */
  readonly minSide?: number;
}

export interface ClipOutputs<T> {
  readonly out: T[];
  /** flows_backward[i] = spynet(frame i, frame i+1); flows_forward[i] = spynet(frame i+1, frame i). [1, 2, h, w]. */
  readonly flowsBackward: T[];
  readonly flowsForward: T[];
  readonly lrFeats: T[];
  readonly featsBackward: T[];
  readonly featsForward: T[];
  readonly dynAggs: T[];
}

/** The official `forward(lrs, ups, keyframe)` after the matching, for a whole clip. */
export function refVsrForward<T>(ops: Ops<T>, cfg: RefVsrConfig, inp: ClipInputs<T>): ClipOutputs<T> {
  const t = inp.lrs.length;
  const [, , h, w] = ops.shape(inp.lrs[0]!) as [number, number, number, number];
  const min = inp.minSide ?? 64;
  if (h < min || w < min) throw new Error(`the Ref-VSR network needs LR frames of at least ${min}x${min} (got ${w}x${h})`);
  if (inp.preOffsets.length !== t) throw new Error(`${t} frames but ${inp.preOffsets.length} pre-offsets`);
  const flowsBackward = Array.from({ length: t - 1 }, (_, i) => spynetFlow(ops, inp.lrs[i]!, inp.lrs[i + 1]!, REFVSR_SPYNET_PREFIX));
  const flowsForward = inp.mirrorExtended ? [] : Array.from({ length: t - 1 }, (_, i) => spynetFlow(ops, inp.lrs[i + 1]!, inp.lrs[i]!, REFVSR_SPYNET_PREFIX));
  const lrFeats = inp.lrs.map((lr) => lrFeatures(ops, cfg, lr));

  const featsBackward: T[] = new Array(t);
  for (let i = t - 1; i >= 0; i--) {
    featsBackward[i] = propagateStep(ops, cfg, 'backward', lrFeats[i]!, i < t - 1 ? { feat: featsBackward[i + 1]!, flow: flowsBackward[i]! } : undefined);
  }
  const featsForward: T[] = [];
  const out: T[] = [];
  const dynAggs: T[] = [];
  for (let i = 0; i < t; i++) {
    const flow = i === 0 ? undefined : inp.mirrorExtended ? flowsBackward[t - 1 - i]! : flowsForward[i - 1]!;
    featsForward.push(propagateStep(ops, cfg, 'forward', lrFeats[i]!, flow ? { feat: featsForward[i - 1]!, flow } : undefined));
    const r = reconstructFrame(ops, cfg, {
      lr: inp.lrs[i]!, lrFeat: lrFeats[i]!, featBackward: featsBackward[i]!, featForward: featsForward[i]!,
      refRelu1_1: inp.refRelu1_1, preOffset: inp.preOffsets[i]!,
    });
    out.push(r.out);
    dynAggs.push(r.dynAgg);
  }
  return { out, flowsBackward, flowsForward, lrFeats, featsBackward, featsForward, dynAggs };
}

/** `net_extractor` branch 1 (the x4 up frame) or 2 (the keyframe): conv3_1 [1, 256, H/4, W/4], no ReLU. */
export function refVsrExtractor<T>(ops: Ops<T>, branch: ContrasBranch, img: T): T {
  return contrasBranch(ops, branch, img, VGG_WIDTHS, REFVSR_EXTRACTOR_PREFIX);
}

/** `net_map.vgg(keyframe)['relu1_1']`: relu(conv1_1((x - mean) / std)) with the `net_map.vgg` buffers. */
export function refVsrKeyframeRelu1_1<T>(ops: Ops<T>, keyframe: T): T {
  return ops.relu(conv(ops, 'net_map.vgg.vgg_net.conv1_1', normalizeInput(ops, keyframe, 'imagenet-buffers', 'net_map.vgg'), 3, VGG_WIDTHS[0]));
}

/** The official mirror-extension test on host frames: even t and frames t/2.. equal to frames ..t/2-1 reversed. */
export function isMirrorExtended(frames: readonly { data: Float32Array }[]): boolean {
  const t = frames.length;
  if (t % 2 !== 0) return false;
  for (let i = 0; i < t / 2; i++) {
    const a = frames[i]!.data;
    const b = frames[t - 1 - i]!.data;
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  }
  return true;
}
