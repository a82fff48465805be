// Owns opening a weight file of any supported container as a WeightMap (format detected from the bytes).

import { readSafetensors } from './safetensors.ts';
import { WeightMap } from './weight-map.ts';

export async function readWeightFile(path: string): Promise<WeightMap> {
  const f = await readSafetensors(path);
  return new WeightMap(f.tensors, f.metadata);
}
