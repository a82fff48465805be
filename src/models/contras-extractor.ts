// Owns ContrasExtractorSep, the contrastive correspondence network: two VGG-style branches with separate weights,
// branch 1 for the bicubic-upsampled input, branch 2 for the reference; output conv3_1 (no ReLU), 256 ch, 1/4 size.

import type { Ops } from '../graph/ops.ts';
import { vggTrunk, normalizeInput } from './vgg-features.ts';

export type ContrasBranch = 1 | 2;

export function contrasBranch<T>(ops: Ops<T>, branch: ContrasBranch, img: T): T {
  const prefix = `feature_extraction_image${branch}`;
  return vggTrunk(ops, `${prefix}.model.`, normalizeInput(ops, img, 'imagenet-buffers', prefix)).conv3_1;
}
