// Owns assembling a refsr bundle from an official MRefSR (LMR) checkpoint set: the MRAPARestorationNet state_dict,
// the ContrasMultiExtractorSep state_dict (same keys as C2-Matching's extractor) and VGG19. Its configuration is
// read from the restoration weights; every expected key and shape is checked, missing keys named by part; the
// bundle's metadata says it is multi-reference.

import { OnnxOps } from '../graph/onnx-ops.ts';
import { contrasBranch } from './contras-extractor.ts';
import { vgg19Features, trunkWidthsOf, type TrunkWidths, type VggInputNorm } from './vgg-features.ts';
import { METADATA_KEYS, VGG_PREFIX, MREF_ARCHITECTURE } from './model-bundle.ts';
import { ConvertError, stripWrappers, type TensorSet } from './import-official.ts';
import { checkAgainstSpec, specProblems } from './spec-check.ts';
import { isMRefStateDict, mrefConfigFromShapes, mrefParamSpec, MRefConfigError } from './mref-spec.ts';
import type { MRefConfig } from './mref-arch.ts';

export { isMRefStateDict };

export interface AssembleMRefInputs {
  readonly restoration: TensorSet;
  readonly extractor?: TensorSet;
  readonly vgg?: TensorSet;
  readonly vggInput: VggInputNorm;
  readonly provenance: string;
}

export interface AssembleMRefResult {
  readonly tensors: TensorSet;
  readonly metadata: Record<string, string>;
  readonly dropped: string[];
  readonly config: MRefConfig;
  /** Parameters of the restoration network alone. */
  readonly restorationParams: number;
}

/** Keys and shapes of the matching side: both contrastive branches and the reference VGG19 trunk. */
function frontSpec(extractorWidths: TrunkWidths, vggWidths: TrunkWidths): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => {
    spec.set(name, [...shape]);
    return { shape, data: new Float32Array(0) };
  });
  const img = ops.input('img', [1, 3, 16, 16]);
  contrasBranch(ops, 1, img, extractorWidths);
  contrasBranch(ops, 2, img, extractorWidths);
  vgg19Features(ops, VGG_PREFIX, img, 'imagenet', vggWidths);
  return spec;
}

export function assembleMRefBundle(inp: AssembleMRefInputs): AssembleMRefResult {
  const merged: TensorSet = new Map();
  for (const part of [inp.restoration, inp.extractor ?? new Map(), inp.vgg ?? new Map()]) {
    for (const [k, v] of stripWrappers(part)) merged.set(k, v);
  }
  let config: MRefConfig;
  try {
    config = mrefConfigFromShapes((k) => merged.get(k)?.shape);
  } catch (e) {
    if (e instanceof MRefConfigError) throw new ConvertError(`the MRefSR restoration checkpoint is incomplete: ${e.message.replace(/^not an MRefSR restoration state_dict: /, '')}`);
    throw e;
  }
  const restorationSpec = mrefParamSpec(config);
  // The reference VGG features feed the aggregations at the restoration's widths; the extractor keeps its own.
  const vggWidths: TrunkWidths = [config.refWidths.relu1_1, config.refWidths.relu2_1, config.refWidths.relu3_1];
  const extractorWidths = trunkWidthsOf((k) => merged.get(k)?.shape, 'feature_extraction_image1.model.');
  const spec = new Map([...restorationSpec, ...frontSpec(extractorWidths, vggWidths)]);
  const check = checkAgainstSpec(spec, merged);
  const problems = specProblems(`the checkpoints do not form a complete MRefSR (multi-reference) model (ngf ${config.ngf}, n_blocks ${config.blocks}, groups ${config.groups}):`, check, summarizeMissing);
  if (problems) throw new ConvertError(problems);
  const { tensors, unexpected: dropped } = check;
  let restorationParams = 0;
  for (const s of restorationSpec.values()) restorationParams += s.reduce((a, b) => a * b, 1);
  return {
    tensors, dropped, config, restorationParams,
    metadata: {
      [METADATA_KEYS.architecture]: MREF_ARCHITECTURE,
      [METADATA_KEYS.references]: 'multi',
      [METADATA_KEYS.mrefConfig]: JSON.stringify(config),
      [METADATA_KEYS.vggInput]: inp.vggInput,
      [METADATA_KEYS.provenance]: inp.provenance,
    },
  };
}

/** Names the missing parts: which checkpoint each group of keys comes from, and for the network which module. */
function summarizeMissing(keys: string[]): string {
  const parts = new Map<string, number>();
  for (const k of keys) {
    const module = /^dyn_agg_restore\.([a-z]+_offset_conv\d|[a-z]+_dyn_agg|(?:head|body|tail)_[a-z]+)/.exec(k)?.[1] ?? (k.startsWith('content_extractor') ? 'content_extractor' : undefined);
    const part = k.startsWith('feature_extraction_image') ? 'contrastive extractor (--extractor)'
      : k.startsWith(VGG_PREFIX) ? 'VGG19 (--vgg)'
      : `restoration network${module ? ` (${module})` : ''}`;
    parts.set(part, (parts.get(part) ?? 0) + 1);
  }
  return `${[...parts].map(([p, n]) => `${n} of the ${p}`).join('; ')} (e.g. ${keys.slice(0, 4).join(', ')})`;
}
