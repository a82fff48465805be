// Owns the dynamic aggregation module (DCN_sep_pre_multi_offset, extra_offset_mask): a modulated deformable conv
// whose offsets are a learned residual (conv_offset_mask of the offset features) plus the correspondence
// pre-offsets, repeated over the deformable groups.

import type { Ops } from '../graph/ops.ts';
import { conv } from './layers.ts';

export const DEFORMABLE_GROUPS = 8;

/**
 * @param ref       reference features to sample from (any spatial size)
 * @param offsetFeat features the learned offsets are predicted from, on the output grid
 * @param preOffset correspondence pre-offsets in DCN channel layout [1, 18, H, W]: channel 2t = dy, 2t+1 = dx of tap t
 * @param channels  output channels, and the offset features' channels
 * @param onOffsetMask receives the conv_offset_mask output (o1 | o2 | mask logits), for parity checks
 * @param refChannels channels of `ref` when they differ from `channels` (refsr's reduced Ref-VSR models)
 */
export function dynamicAggregation<T>(ops: Ops<T>, name: string, ref: T, offsetFeat: T, preOffset: T, channels: number, groups = DEFORMABLE_GROUPS, onOffsetMask?: (om: T) => void, refChannels = channels): T {
  const slots = groups * 9;
  const om = conv(ops, subKey(name, 'conv_offset_mask'), offsetFeat, channels, 3 * slots);
  onOffsetMask?.(om);
  const learned = ops.sliceChannels(om, 0, 2 * slots);
  const mask = ops.sigmoid(ops.sliceChannels(om, 2 * slots, 3 * slots));
  const offset = ops.add(learned, ops.concat(Array.from({ length: groups }, () => preOffset), 1));
  const weight = ops.param(subKey(name, 'weight'), [channels, refChannels, 3, 3]);
  const bias = ops.param(subKey(name, 'bias'), [channels]);
  return ops.deformConv(ref, offset, mask, weight, bias, groups);
}

/** `name.sub`, or just `sub` for a module loaded on its own (empty name). */
function subKey(name: string, sub: string): string {
  return name ? `${name}.${sub}` : sub;
}
