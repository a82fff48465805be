// Builds small seeded refsr model bundles with the official key names (tests run real graphs on tiny shapes):
// single-reference C2-Matching and multi-reference MRefSR.
import { join } from 'node:path';
import { bundleSpec, METADATA_KEYS } from '../../src/models/model-bundle.ts';
import { initWeights } from '../../src/models/init-weights.ts';
import type { RestorationConfig } from '../../src/models/restoration-net.ts';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.ts';
import { WeightMap } from '../../src/weights/weight-map.ts';
import { describeBundle } from '../../src/models/model-bundle.ts';
import { RefSRModel } from '../../src/pipeline/refsr-model.ts';
import { tempDir } from './temp.ts';
import { OnnxOps } from '../../src/graph/onnx-ops.ts';
import { contrasBranch } from '../../src/models/contras-extractor.ts';
import { vgg19Features } from '../../src/models/vgg-features.ts';
import { mrefParamSpec } from '../../src/models/mref-spec.ts';
import { assembleMRefBundle } from '../../src/models/import-mref.ts';
import type { MRefConfig } from '../../src/models/mref-arch.ts';

export const TINY_MREF_CONFIG: MRefConfig = { ngf: 8, blocks: 1, groups: 4, refWidths: { relu1_1: 8, relu2_1: 12, relu3_1: 16 } };

export const TINY_CONFIG: RestorationConfig = { ngf: 8, contentBlocks: 1, smallBlocks: 1, mediumBlocks: 1, largeBlocks: 1, smallAggregation: true, groups: 8 };

export function tinyWeights(seed = 7, config = TINY_CONFIG): WeightMap {
  const w = initWeights(bundleSpec(config), { seed, std: 0.05, offsetStd: 0.01 });
  return WeightMap.fromTensors(w, {
    [METADATA_KEYS.architecture]: 'c2-matching',
    [METADATA_KEYS.variant]: 'custom',
    [METADATA_KEYS.restorationConfig]: JSON.stringify(config),
  });
}

/** The tiny bundle with extra `__metadata__` entries (e.g. `refsr.match_reference`), same tensors. */
export function tinyWeightsWith(metadata: Record<string, string>, seed = 7, config = TINY_CONFIG): WeightMap {
  const w = tinyWeights(seed, config);
  return WeightMap.fromTensors(new Map(w.keys().map((k) => [k, w.get(k)!] as const)), { ...w.metadata, ...metadata });
}

/** A RefSRModel over the given bundle weights, described as `name`. */
export function modelOf(w: WeightMap, name: string, threads = 2): RefSRModel {
  return new RefSRModel(w, describeBundle(w, name), name, { threads });
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

/** A tiny seeded MRefSR (multi-reference) bundle written to a temp file: restoration, extractor and reference VGG. */
export async function writeTinyMRefModelFile(cfg: MRefConfig = TINY_MREF_CONFIG, seeds: { net: number; front: number } = { net: 4, front: 5 }): Promise<string> {
  const front = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => { front.set(name, [...shape]); return { shape, data: new Float32Array(0) }; });
  const img = ops.input('img', [1, 3, 16, 16]);
  const widths = [cfg.refWidths.relu1_1, cfg.refWidths.relu2_1, cfg.refWidths.relu3_1] as const;
  contrasBranch(ops, 1, img, widths);
  contrasBranch(ops, 2, img, widths);
  vgg19Features(ops, 'vgg.', img, 'imagenet', widths);
  const all = new Map([...initWeights(mrefParamSpec(cfg), { seed: seeds.net, std: 0.1, offsetStd: 0.01 }), ...initWeights(front, { seed: seeds.front, std: 0.1 })]);
  const m = assembleMRefBundle({
    restoration: new Map([...all].filter(([k]) => !k.startsWith('vgg.') && !k.startsWith('feature_extraction'))),
    extractor: new Map([...all].filter(([k]) => k.startsWith('feature_extraction'))),
    vgg: new Map([...all].filter(([k]) => k.startsWith('vgg.'))),
    vggInput: 'imagenet', provenance: 'test',
  });
  const path = join(tempDir('refsr-mref-model-'), 'mref.safetensors');
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of m.tensors) out.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(path, out, m.metadata);
  return path;
}
