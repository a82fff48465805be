// Owns the VGG conv1_1..conv3_1 trunk shared by the contrastive extractor (VGG16 layout, no ReLU after conv3_1)
// and the reference-side VGG19 feature extractor (taps relu1_1, relu2_1, relu3_1). Both trunks have the same
// first five convs (conv1_1, conv1_2, conv2_1, conv2_2, conv3_1); VGG19 adds nothing before relu3_1.

import type { Ops } from '../graph/ops.ts';
import { conv } from './layers.ts';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** Caffe / Oxford VGG convention: RGB in 0..255 minus this mean, no division. */
export const CAFFE_MEAN = [123.68, 116.779, 103.939] as const;

/**
 * How the [0,1] RGB input is normalised before conv1_1.
 * - `imagenet`: (x - mean) / std with fixed ImageNet constants (torchvision weights).
 * - `imagenet-buffers`: the same, with mean/std read from `<prefix>.mean` / `<prefix>.std` parameters (the official
 *   ContrasExtractorSep state_dict carries them as buffers).
 * - `caffe`: 255 x - CAFFE_MEAN (Oxford/MatConvNet weights such as ../shared/data/vgg19-conv3_1).
 */
export type VggInputNorm = 'imagenet' | 'imagenet-buffers' | 'caffe';

export interface VggTaps<T> { relu1_1: T; relu2_1: T; relu3_1: T; conv3_1: T }

/**
 * Channel widths of the trunk's conv1_x, conv2_x and conv3_1. VGG's own are 64/128/256 (every official and imported
 * model); refsr's own CPU-sized models may use narrower trunks, trained from scratch.
 */
export type TrunkWidths = readonly [number, number, number];
export const VGG_WIDTHS: TrunkWidths = [64, 128, 256];

/** The widths of the trunk stored under `prefix` (e.g. `vgg.`), read off its conv weight shapes; VGG's when absent. */
export function trunkWidthsOf(shapeOf: (name: string) => readonly number[] | undefined, prefix: string): TrunkWidths {
  const c1 = shapeOf(`${prefix}conv1_1.weight`)?.[0];
  const c2 = shapeOf(`${prefix}conv2_1.weight`)?.[0];
  const c3 = shapeOf(`${prefix}conv3_1.weight`)?.[0];
  return c1 && c2 && c3 ? [c1, c2, c3] : VGG_WIDTHS;
}

export function normalizeInput<T>(ops: Ops<T>, x: T, norm: VggInputNorm, bufferPrefix: string): T {
  if (norm === 'caffe') {
    const scaled = ops.mul(x, ops.constant('vgg_255', [], Float32Array.of(255)));
    return ops.sub(scaled, ops.constant('caffe_mean', [1, 3, 1, 1], Float32Array.from(CAFFE_MEAN)));
  }
  const mean = norm === 'imagenet' ? ops.constant('imagenet_mean', [1, 3, 1, 1], Float32Array.from(IMAGENET_MEAN)) : ops.param(`${bufferPrefix}.mean`, [1, 3, 1, 1]);
  const std = norm === 'imagenet' ? ops.constant('imagenet_std', [1, 3, 1, 1], Float32Array.from(IMAGENET_STD)) : ops.param(`${bufferPrefix}.std`, [1, 3, 1, 1]);
  return ops.div(ops.sub(x, mean), std);
}

/** conv1_1..conv3_1 on an already normalised input; `prefix` is the key prefix of the convs (e.g. `vgg.`). */
export function vggTrunk<T>(ops: Ops<T>, prefix: string, x: T, widths: TrunkWidths = VGG_WIDTHS): VggTaps<T> {
  const [c1, c2, c3] = widths;
  const relu1_1 = ops.relu(conv(ops, `${prefix}conv1_1`, x, 3, c1));
  const relu1_2 = ops.relu(conv(ops, `${prefix}conv1_2`, relu1_1, c1, c1));
  const relu2_1 = ops.relu(conv(ops, `${prefix}conv2_1`, ops.maxPool2x2(relu1_2), c1, c2));
  const relu2_2 = ops.relu(conv(ops, `${prefix}conv2_2`, relu2_1, c2, c2));
  const conv3_1 = conv(ops, `${prefix}conv3_1`, ops.maxPool2x2(relu2_2), c2, c3);
  return { relu1_1, relu2_1, relu3_1: ops.relu(conv3_1), conv3_1 };
}

/** VGG19 relu1_1 / relu2_1 / relu3_1 of a [0,1] RGB image (the reference features aggregated by the DCNs). */
export function vgg19Features<T>(ops: Ops<T>, prefix: string, img: T, norm: VggInputNorm, widths: TrunkWidths = VGG_WIDTHS): VggTaps<T> {
  return vggTrunk(ops, prefix, normalizeInput(ops, img, norm, prefix.replace(/\.$/, '')), widths);
}
