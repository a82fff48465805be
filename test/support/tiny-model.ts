// Builds small seeded refsr model bundles with the official key names (tests run real graphs on tiny shapes).
import { join } from 'node:path';
import { bundleSpec, METADATA_KEYS } from '../../src/models/model-bundle.ts';
import { initWeights } from '../../src/models/init-weights.ts';
import type { RestorationConfig } from '../../src/models/restoration-net.ts';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.ts';
import { WeightMap } from '../../src/weights/weight-map.ts';
import { describeBundle } from '../../src/models/model-bundle.ts';
import { RefSRModel } from '../../src/pipeline/refsr-model.ts';
import { tempDir } from './temp.ts';

export const TINY_CONFIG: RestorationConfig = { ngf: 8, contentBlocks: 1, smallBlocks: 1, mediumBlocks: 1, largeBlocks: 1, smallAggregation: true, groups: 8 };

export function tinyWeights(seed = 7, config = TINY_CONFIG): WeightMap {
  const w = initWeights(bundleSpec(config), { seed, std: 0.05, offsetStd: 0.01 });
  return WeightMap.fromTensors(w, {
    [METADATA_KEYS.architecture]: 'c2-matching',
    [METADATA_KEYS.variant]: 'custom',
    [METADATA_KEYS.restorationConfig]: JSON.stringify(config),
  });
}

export function tinyModel(seed = 7, config = TINY_CONFIG, lowering: 'auto' | 'gridsample' = 'auto'): RefSRModel {
  const w = tinyWeights(seed, config);
  return new RefSRModel(w, describeBundle(w, 'tiny'), 'tiny', { threads: 2, deformConv: lowering });
}

export async function writeTinyModelFile(seed = 7, config = TINY_CONFIG): Promise<string> {
  const dir = tempDir('refsr-model-');
  const path = join(dir, 'tiny.safetensors');
  const w = tinyWeights(seed, config);
  const out = new Map<string, TensorToWrite>();
  for (const k of w.keys()) { const t = w.get(k)!; out.set(k, { dtype: 'F32', shape: t.shape, data: t.data }); }
  await writeSafetensors(path, out, w.metadata);
  return path;
}
