// Owns assembling a refsr bundle from official checkpoints: the C2-Matching restoration state_dict, the contrastive
// extractor state_dict, and VGG19 weights from torchvision (`features.N.*`), plain `convN_M.*` names, or the
// Oxford/MatConvNet relu3_1 export (json + bin, Caffe input convention). Every expected key and shape is checked.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { RESTORATION_VARIANTS, type RestorationConfig, type RestorationVariant } from './restoration-net.ts';
import { bundleSpec, METADATA_KEYS, VGG_PREFIX } from './model-bundle.ts';
import { checkAgainstSpec, specProblems } from './spec-check.ts';
import type { VggInputNorm } from './vgg-features.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export class ConvertError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'ConvertError'; }
}

/** torchvision vgg19.features indices of the five convs before relu3_1. */
const TORCHVISION_VGG19 = { 0: 'conv1_1', 2: 'conv1_2', 5: 'conv2_1', 7: 'conv2_2', 10: 'conv3_1' } as const;

export type TensorSet = Map<string, Float32Tensor>;

/** Strips the wrappers official checkpoints use: DataParallel's `module.` and the video model's `generator.`. */
export function stripWrappers(t: TensorSet): TensorSet {
  const out: TensorSet = new Map();
  for (const [k, v] of t) out.set(k.replace(/^module\./, '').replace(/^generator\./, ''), v);
  return out;
}

/** VGG weights under refsr's `vgg.convN_M.*` names, from torchvision or plain conv names. */
export function vggFromCheckpoint(t: TensorSet): TensorSet {
  const out: TensorSet = new Map();
  for (const [k, v] of stripWrappers(t)) {
    const tv = /^(?:vgg19\.)?features\.(\d+)\.(weight|bias)$/.exec(k);
    const plain = /^(?:vgg\.)?(conv\d_\d)\.(weight|bias)$/.exec(k);
    if (tv) {
      const name = TORCHVISION_VGG19[Number(tv[1]) as keyof typeof TORCHVISION_VGG19];
      if (name) out.set(`${VGG_PREFIX}${name}.${tv[2]}`, v);
    } else if (plain) out.set(`${VGG_PREFIX}${plain[1]}.${plain[2]}`, v);
  }
  return out;
}

export interface AssembleInputs {
  readonly restoration: TensorSet;
  readonly extractor?: TensorSet;
  readonly vgg?: TensorSet;
  readonly vggInput: VggInputNorm;
  readonly variant?: RestorationVariant;
  readonly provenance: string;
}

export interface AssembleResult {
  readonly tensors: TensorSet;
  readonly metadata: Record<string, string>;
  readonly dropped: string[];
  readonly variant: RestorationVariant;
}

export function assembleBundle(inp: AssembleInputs): AssembleResult {
  const merged: TensorSet = new Map();
  for (const part of [inp.restoration, inp.extractor ?? new Map(), inp.vgg ?? new Map()]) {
    for (const [k, v] of stripWrappers(part)) merged.set(k, v);
  }
  const variant: RestorationVariant = inp.variant ?? (merged.has('dyn_agg_restore.small_dyn_agg.weight') ? 'full' : 'light');
  const config: RestorationConfig = RESTORATION_VARIANTS[variant];
  const spec = bundleSpec(config);
  const check = checkAgainstSpec(spec, merged);
  const problems = specProblems(`the checkpoints do not form a complete ${variant} C2-Matching model:`, check, summarizeMissing);
  if (problems) throw new ConvertError(problems);
  const { tensors, unexpected: dropped } = check;
  return {
    tensors, dropped, variant,
    metadata: {
      [METADATA_KEYS.architecture]: 'c2-matching',
      [METADATA_KEYS.variant]: variant,
      [METADATA_KEYS.restorationConfig]: JSON.stringify(config),
      [METADATA_KEYS.vggInput]: inp.vggInput,
      [METADATA_KEYS.provenance]: inp.provenance,
    },
  };
}

/** Names the missing parts by hint: which checkpoint each group of keys comes from. */
function summarizeMissing(keys: string[]): string {
  const parts = new Map<string, number>();
  for (const k of keys) {
    const part = k.startsWith('feature_extraction_image') ? 'contrastive extractor (--extractor)' : k.startsWith(VGG_PREFIX) ? 'VGG19 (--vgg)' : 'restoration network';
    parts.set(part, (parts.get(part) ?? 0) + 1);
  }
  const first = keys.slice(0, 4).join(', ');
  return `${[...parts].map(([p, n]) => `${n} of the ${p}`).join('; ')} (e.g. ${first})`;
}
