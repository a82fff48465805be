// Owns ContrasExtractorSep, the contrastive correspondence network: two VGG-style branches with separate weights,
// branch 1 for the bicubic-upsampled input, branch 2 for the reference; output conv3_1 (no ReLU), 256 ch (or the
// model's trunk width), 1/4 size.

import type { Ops } from '../graph/ops.ts';
import { vggTrunk, normalizeInput, VGG_WIDTHS, type TrunkWidths } from './vgg-features.ts';

export type ContrasBranch = 1 | 2;

/** `keyPrefix` names the module holding the extractor in a larger model (the Ref-VSR network's `net_extractor.`). */
export function contrasBranch<T>(ops: Ops<T>, branch: ContrasBranch, img: T, widths: TrunkWidths = VGG_WIDTHS, keyPrefix = ''): T {
  const prefix = `${keyPrefix}feature_extraction_image${branch}`;
  return vggTrunk(ops, `${prefix}.model.`, normalizeInput(ops, img, 'imagenet-buffers', prefix), widths).conv3_1;
}
