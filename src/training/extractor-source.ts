// Owns where a stage's contrastive extractor comes from: a weight file, or the tied seeded start in which both
// branches take branch 1's He-initialised value (as the official branches both start from the same VGG weights).
// The teacher stage starts from the seeded start; a student or restoration run may freeze it untrained
// (`init.extractor: seeded:N`), so a model trained that way is reproducible from the repository alone.
// `vgg19:PATH` is the ImageNet VGG start (models/vgg-init.ts): both branches and the reference encoder from VGG19.

import { bundleSpec } from '../models/model-bundle.ts';
import { RESTORATION_VARIANTS } from '../models/restoration-net.ts';
import type { TrunkWidths } from '../models/vgg-features.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { seededValue } from './param-store.ts';
import { readTensorFile, readWeightFile } from '../weights/read-weight-file.ts';
import { imagenetVgg, scaledEncoder, vggInitialisedExtractor } from '../models/vgg-init.ts';
import type { VggInputNorm } from '../models/vgg-features.ts';
import { WeightMap } from '../weights/weight-map.ts';

const EXTRACTOR_PREFIX = 'feature_extraction_image';

/** Branch 2 takes branch 1's seeded value. */
export function tieExtractorBranches(name: string): string {
  return name.replace(`${EXTRACTOR_PREFIX}2.`, `${EXTRACTOR_PREFIX}1.`);
}

/** `seeded` or `seeded:N` in a config's `init.extractor`: the tied He start with seed N (default 1). */
export function seededExtractorSeed(spec: string): number | undefined {
  const m = /^seeded(?::(\d+))?$/.exec(spec);
  return m ? Number(m[1] ?? 1) : undefined;
}

/** `vgg19:PATH` in a config's `init.extractor`: the VGG weight file (MatConvNet export, torchvision, conv names). */
export function vggExtractorPath(spec: string): string | undefined {
  return spec.startsWith('vgg19:') ? spec.slice('vgg19:'.length) : undefined;
}

/**
 * The VGG-initialised extractor and reference encoder, from a VGG weight file in either input convention; with
 * `encoderScale`, the encoder's taps are rescaled (models/vgg-init.ts scaledEncoder; the extractor is not).
 */
export async function vggExtractor(path: string, encoderScale?: readonly [number, number, number]): Promise<WeightMap> {
  const f = await readTensorFile(path);
  const input = (f.metadata['refsr.vgg_input'] ?? 'imagenet') as VggInputNorm;
  const t = vggInitialisedExtractor(imagenetVgg(f.tensors, input));
  return WeightMap.fromTensors(encoderScale ? scaledEncoder(t, encoderScale) : t);
}

/** Both branches of the contrastive extractor at their tied He initialisation. */
export function seededExtractor(seed: number, trunkWidths: TrunkWidths): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const [name, shape] of bundleSpec({ ...RESTORATION_VARIANTS.light, trunkWidths })) {
    if (!name.startsWith(EXTRACTOR_PREFIX)) continue;
    out.set(name, { shape, data: seededValue(name, shape, { seed, std: 'he', seedName: tieExtractorBranches }) });
  }
  return out;
}

/** A config's `init.extractor`: a weight file, `seeded:N`, or `vgg19:PATH`. */
export async function loadExtractor(spec: string, trunkWidths: TrunkWidths, encoderScale?: readonly [number, number, number]): Promise<WeightMap> {
  const vgg = vggExtractorPath(spec);
  if (vgg !== undefined) return vggExtractor(vgg, encoderScale);
  const seed = seededExtractorSeed(spec);
  return seed === undefined ? readWeightFile(spec) : WeightMap.fromTensors(seededExtractor(seed, trunkWidths));
}
