// Owns refsr's ImageNet-VGG start: the VGG19 conv1_1..conv3_1 weights (Oxford VGG / MatConvNet, CC BY 4.0, the
// ../shared/data/vgg19-conv3_1 export, or torchvision-named files) turned into the two things a C2-Matching model takes
// from VGG: the contrastive extractor's start (both branches equal, as the paper initialises them) and the frozen
// reference encoder (`vgg.*`, relu1_1/relu2_1/relu3_1). Weights in the Caffe input convention (RGB 0..255 minus the
// Caffe mean) get that convention folded into conv1_1, so every network keeps the official ImageNet mean/std input.

import { CAFFE_MEAN, IMAGENET_MEAN, IMAGENET_STD, type VggInputNorm } from './vgg-features.ts';
import { VGG_PREFIX } from './model-bundle.ts';
import { vggFromCheckpoint, ConvertError, type TensorSet } from './import-official.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

/** Credit written into the provenance of every model that contains or was initialised from these weights. */
export const VGG19_CREDIT = 'ImageNet VGG19 conv1_1..conv3_1 (Simonyan & Zisserman; Oxford VGG / MatConvNet imagenet-vgg-verydeep-19), CC BY 4.0';

const TRUNK = ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1'] as const;

/**
 * conv1_1 of a Caffe-convention VGG (input 255 x - m) rewritten for the ImageNet input (x - mu) / sigma:
 * x = sigma z + mu, so 255 x - m = 255 sigma z + (255 mu - m): W'[o,c] = 255 sigma_c W[o,c],
 * b'[o] = b[o] + sum_c (255 mu_c - m_c) sum_ij W[o,c,i,j]. Exact away from the border; on the zero-padded border the
 * two conventions pad with slightly different values (255 mu - m is at most 0.5 of 255 per channel).
 */
export function foldCaffeInput(weight: Float32Tensor, bias: Float32Tensor): { weight: Float32Tensor; bias: Float32Tensor } {
  const [o, c, kh, kw] = weight.shape as [number, number, number, number];
  if (c !== 3) throw new ConvertError(`conv1_1 has ${c} input channels, expected 3 (RGB)`);
  const k = kh * kw;
  const w = new Float32Array(weight.data.length);
  const b = Float32Array.from(bias.data);
  for (let oi = 0; oi < o; oi++) {
    let shift = 0;
    for (let ci = 0; ci < 3; ci++) {
      const base = (oi * 3 + ci) * k;
      let sum = 0;
      for (let t = 0; t < k; t++) {
        const v = weight.data[base + t]!;
        sum += v;
        w[base + t] = v * 255 * IMAGENET_STD[ci]!;
      }
      shift += sum * (255 * IMAGENET_MEAN[ci]! - CAFFE_MEAN[ci]!);
    }
    b[oi] = b[oi]! + shift;
  }
  return { weight: { shape: weight.shape, data: w }, bias: { shape: bias.shape, data: b } };
}

/** VGG trunk weights under `vgg.*` in the ImageNet input convention, from any supported VGG file's tensors. */
export function imagenetVgg(tensors: TensorSet, input: VggInputNorm): TensorSet {
  const vgg = vggFromCheckpoint(tensors);
  for (const n of TRUNK) {
    for (const p of ['weight', 'bias']) if (!vgg.has(`${VGG_PREFIX}${n}.${p}`)) throw new ConvertError(`VGG weights lack ${n}.${p} (need conv1_1..conv3_1)`);
  }
  if (input === 'caffe') {
    const f = foldCaffeInput(vgg.get(`${VGG_PREFIX}conv1_1.weight`)!, vgg.get(`${VGG_PREFIX}conv1_1.bias`)!);
    vgg.set(`${VGG_PREFIX}conv1_1.weight`, f.weight);
    vgg.set(`${VGG_PREFIX}conv1_1.bias`, f.bias);
  }
  return vgg;
}

/**
 * The VGG-initialised contrastive extractor (both branches = the VGG trunk, ImageNet mean/std buffers) plus the
 * reference encoder `vgg.*`: a complete frozen half for a restoration run, or a teacher's start.
 */
export function vggInitialisedExtractor(vgg: TensorSet): TensorSet {
  const out: TensorSet = new Map(vgg);
  for (const branch of [1, 2]) {
    const prefix = `feature_extraction_image${branch}`;
    for (const n of TRUNK) {
      for (const p of ['weight', 'bias']) out.set(`${prefix}.model.${n}.${p}`, vgg.get(`${VGG_PREFIX}${n}.${p}`)!);
    }
    out.set(`${prefix}.mean`, { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_MEAN) });
    out.set(`${prefix}.std`, { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_STD) });
  }
  return out;
}

/**
 * The encoder `vgg.*` reparametrised so its relu1_1 / relu2_1 / relu3_1 taps come out multiplied by `scales`
 * (exact, as ReLU is positively homogeneous): conv1_1, conv2_1 and conv3_1 (weight and bias) are multiplied by their
 * tap's scale and conv1_2 and conv2_2 (weights only) divided by the scale of the tap feeding them, so every layer
 * after a tap sees what it saw before. ImageNet VGG taps are 50-250x larger than the features of a restoration
 * network's own trunk (RMS 52 / 186 / 251 on examples/coffee-ref.png); scaled to about 1, a network warm-started on
 * small features can learn to use them at an ordinary learning rate.
 */
export function scaledEncoder(t: TensorSet, [s1, s2, s3]: readonly [number, number, number]): TensorSet {
  const out: TensorSet = new Map(t);
  const scale = (name: string, f: number, withBias: boolean) => {
    for (const p of withBias ? ['weight', 'bias'] : ['weight']) {
      const k = `${VGG_PREFIX}${name}.${p}`;
      const v = t.get(k);
      if (!v) throw new ConvertError(`VGG weights lack ${name}.${p}`);
      out.set(k, { shape: v.shape, data: Float32Array.from(v.data, (x) => x * f) });
    }
  };
  scale('conv1_1', s1, true);
  scale('conv1_2', 1 / s1, false);
  scale('conv2_1', s2, true);
  scale('conv2_2', 1 / s2, false);
  scale('conv3_1', s3, true);
  return out;
}
