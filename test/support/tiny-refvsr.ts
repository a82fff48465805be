// Builds seeded Ref-VSR (video) model bundles for tests: the real network with num_blocks 1 (mid_channels is fixed
// at 64 by the architecture) and random weights, or the golden `refvsr` case's weights converted here, written to a
// test temp folder (never committed).
import { join } from 'node:path';
import { initWeights } from '../../src/models/init-weights.ts';
import { refVsrSpec, REFVSR_ARCHITECTURE, REFVSR_CONFIG_KEY, REFVSR_CLASS } from '../../src/models/refvsr-bundle.ts';
import { REFVSR_MID, type RefVsrConfig } from '../../src/models/refvsr-arch.ts';
import { METADATA_KEYS } from '../../src/models/model-bundle.ts';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.ts';
import type { WeightMap } from '../../src/weights/weight-map.ts';
import type { Float32Tensor } from '../../src/tensor/host-tensor.ts';
import { tempDir } from './temp.ts';

export const TINY_REFVSR: RefVsrConfig = { numBlocks: 1, groups: 8 };

function metadata(cfg: RefVsrConfig, provenance: string): Record<string, string> {
  return {
    [METADATA_KEYS.architecture]: REFVSR_ARCHITECTURE, 'refsr.class': REFVSR_CLASS,
    [REFVSR_CONFIG_KEY]: JSON.stringify({ midChannels: REFVSR_MID, ...cfg }), [METADATA_KEYS.provenance]: provenance,
  };
}

async function write(tensors: Iterable<[string, Float32Tensor]>, meta: Record<string, string>, name: string): Promise<string> {
  const path = join(tempDir('refsr-refvsr-model-'), name);
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of tensors) out.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(path, out, meta);
  return path;
}

/** A random Ref-VSR bundle (num_blocks 1); the SPyNet's last convs are small so its flows stay near zero. */
export async function writeTinyRefVsrFile(seed = 3, cfg = TINY_REFVSR): Promise<string> {
  const w = initWeights(refVsrSpec(cfg), { seed, std: 0.03, offsetStd: 0.01 });
  return write(w, metadata(cfg, 'random test weights'), 'tiny-refvsr.safetensors');
}

/** The golden refvsr case's weights (+ the extractor from its VGG weights) as a bundle. */
export async function writeGoldenRefVsrFile(weights: WeightMap): Promise<string> {
  return write(weights.keys().map((k) => [k, weights.get(k)!] as [string, Float32Tensor]), metadata(TINY_REFVSR, 'golden refvsr case weights (random, seeded)'), 'golden-refvsr.safetensors');
}
