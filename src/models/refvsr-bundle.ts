// Owns the Ref-VSR model file convention and its import from official checkpoints: the expected keys and shapes of
// RefBasicVSRLRFeatConvAttnLargeNet (the generator state_dict under its official names, with the contrastive
// extractor under `net_extractor.` and SPyNet under `spynet.`), the bundle metadata naming the video architecture,
// and the assembly of a bundle from the released checkpoint (keys prefixed `generator.`, plus `step_counter`)
// and/or separate SPyNet and extractor files, every key and shape checked.

import { OnnxOps } from '../graph/onnx-ops.ts';
import { refVsrExtractor, refVsrForward, refVsrKeyframeRelu1_1, midOf, REFVSR_MID, REFVSR_RELEASED, REFVSR_EXTRACTOR_PREFIX, type RefVsrConfig } from './refvsr-arch.ts';
import { ConvertError, type TensorSet } from './import-official.ts';
import { checkAgainstSpec, specProblems } from './spec-check.ts';
import { METADATA_KEYS } from './model-bundle.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './vgg-features.ts';

/** `refsr.architecture` of a Ref-VSR bundle (image bundles say `c2-matching`). */
export const REFVSR_ARCHITECTURE = 'c2-matching-refvsr';
/** The official class name, recorded in the metadata. */
export const REFVSR_CLASS = 'RefBasicVSRLRFeatConvAttnLargeNet';
export const REFVSR_CONFIG_KEY = 'refsr.refvsr_config';

/** The stored `refsr.refvsr_config`: mid_channels, num_blocks and the deformable groups. */
export function refVsrConfigJson(cfg: RefVsrConfig): string {
  return JSON.stringify({ midChannels: midOf(cfg), numBlocks: cfg.numBlocks, groups: cfg.groups });
}

/** The config a bundle's stored `refsr.refvsr_config` (when any) and its keys give. */
export function refVsrConfigOf(stored: string | undefined, keys: Iterable<string>): RefVsrConfig {
  const numBlocks = numBlocksOf(keys);
  if (!stored) return { numBlocks, groups: REFVSR_RELEASED.groups };
  const c = JSON.parse(stored) as { numBlocks?: number; groups?: number; midChannels?: number };
  const mid = c.midChannels ?? REFVSR_MID;
  return { numBlocks: c.numBlocks ?? numBlocks, groups: c.groups ?? REFVSR_RELEASED.groups, ...(mid !== REFVSR_MID ? { mid } : {}) };
}

/** Every key and shape of the generator state_dict for this config (494 for the released model; + step_counter). */
export function refVsrSpec(cfg: RefVsrConfig): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => {
    spec.set(name, [...shape]);
    return { shape, data: new Float32Array(0) };
  });
  const lrs = [0, 1].map((i) => ops.input(`lr${i}`, [1, 3, 64, 64]));
  const hr = ops.input('hr', [1, 3, 256, 256]);
  refVsrExtractor(ops, 1, hr);
  refVsrExtractor(ops, 2, hr);
  const relu1_1 = refVsrKeyframeRelu1_1(ops, hr);
  refVsrForward(ops, cfg, { lrs, refRelu1_1: relu1_1, preOffsets: lrs.map((_, i) => ops.input(`pre${i}`, [1, 2 * 9, 256, 256])) });
  return spec;
}

/** num_blocks of a generator state_dict, from its `lr_resblocks.main.2.<k>` keys. */
export function numBlocksOf(keys: Iterable<string>): number {
  let n = 0;
  for (const k of keys) {
    const m = /^lr_resblocks\.main\.2\.(\d+)\./.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** True when the (wrapper-stripped) keys look like a Ref-VSR generator or a SPyNet. */
export function looksLikeRefVsr(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(generator\.)?(spynet\.|lr_resblocks\.|backward_resblocks\.)/.test(k)) return true;
  return false;
}

/** Strips `module.` and the released checkpoint's `generator.`; drops `step_counter` (a training counter). */
function generatorKeys(t: TensorSet): TensorSet {
  const out: TensorSet = new Map();
  for (const [k, v] of t) {
    const key = k.replace(/^module\./, '').replace(/^generator\./, '');
    if (key !== 'step_counter') out.set(key, v);
  }
  return out;
}

/**
 * A part given in its own file, under the generator's prefix: SPyNet (`basic_module.*`, `mean`, `std`; with or
 * without `spynet.` / `generator.spynet.`) or the extractor (`feature_extraction_image{1,2}.*`, with or without
 * `net_extractor.`). Keys of other modules are not taken.
 */
function partKeys(t: TensorSet, prefix: string, own: RegExp, what: string): TensorSet {
  const out: TensorSet = new Map();
  for (const [k, v] of generatorKeys(t)) {
    const bare = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (own.test(bare)) out.set(prefix + bare, v);
  }
  if (out.size === 0) throw new ConvertError(`the ${what} file holds no ${what} keys (expected ${own.source})`);
  return out;
}

export interface RefVsrAssembleInputs {
  /** The released checkpoint or any generator state_dict (may lack spynet.* / net_extractor.*). */
  readonly generator?: TensorSet;
  readonly spynet?: TensorSet;
  readonly extractor?: TensorSet;
  readonly provenance: string;
}

export interface RefVsrAssembleResult {
  readonly tensors: TensorSet;
  readonly metadata: Record<string, string>;
  readonly config: RefVsrConfig;
  /** Keys present in the inputs that the network does not use (e.g. step_counter). */
  readonly dropped: string[];
  /** Keys taken from the separate SPyNet / extractor files over the generator's. */
  readonly replaced: string[];
  /** Constant buffers (ImageNet mean/std) filled in because the SPyNet file does not store them. */
  readonly filled: string[];
}

export function assembleRefVsrBundle(inp: RefVsrAssembleInputs): RefVsrAssembleResult {
  const merged: TensorSet = inp.generator ? generatorKeys(inp.generator) : new Map();
  const dropped = inp.generator && [...inp.generator.keys()].some((k) => /(^|\.)step_counter$/.test(k)) ? ['step_counter'] : [];
  const replaced: string[] = [];
  const filled: string[] = [];
  const overlay = (part: TensorSet) => {
    for (const [k, v] of part) {
      if (merged.has(k)) replaced.push(k);
      merged.set(k, v);
    }
  };
  if (inp.spynet) {
    const part = partKeys(inp.spynet, 'spynet.', /^(basic_module\.\d+\.basic_module\.\d+\.conv\.(weight|bias)|mean|std)$/, 'SPyNet');
    for (const [b, v] of [['mean', IMAGENET_MEAN], ['std', IMAGENET_STD]] as const) {
      if (!part.has(`spynet.${b}`) && !merged.has(`spynet.${b}`)) {
        part.set(`spynet.${b}`, { shape: [1, 3, 1, 1], data: Float32Array.from(v) });
        filled.push(`spynet.${b}`);
      }
    }
    overlay(part);
  }
  if (inp.extractor) overlay(partKeys(inp.extractor, REFVSR_EXTRACTOR_PREFIX, /^feature_extraction_image[12]\./, 'extractor'));

  const numBlocks = numBlocksOf(merged.keys());
  if (numBlocks === 0) throw new ConvertError('no Ref-VSR generator keys (lr_resblocks.main.2.*): give the Ref-VSR checkpoint');
  const config: RefVsrConfig = { numBlocks, groups: REFVSR_RELEASED.groups };
  const spec = refVsrSpec(config);
  const check = checkAgainstSpec(spec, merged);
  const problems = specProblems(`the checkpoints do not form a complete ${REFVSR_CLASS} (num_blocks ${numBlocks}):`, check, summarizeMissing, true);
  if (problems) throw new ConvertError(problems);
  const { tensors, unexpected } = check;
  return {
    tensors, config, dropped: [...dropped, ...unexpected], replaced, filled,
    metadata: {
      [METADATA_KEYS.architecture]: REFVSR_ARCHITECTURE,
      'refsr.class': REFVSR_CLASS,
      [REFVSR_CONFIG_KEY]: refVsrConfigJson(config),
      [METADATA_KEYS.provenance]: inp.provenance,
    },
  };
}

/** Names the missing parts by the file they come from. */
function summarizeMissing(keys: string[]): string {
  const parts = new Map<string, number>();
  for (const k of keys) {
    const part = k.startsWith('spynet.') ? 'SPyNet (--spynet)' : k.startsWith(REFVSR_EXTRACTOR_PREFIX) ? 'contrastive extractor (--extractor)' : 'generator';
    parts.set(part, (parts.get(part) ?? 0) + 1);
  }
  return `${[...parts].map(([p, n]) => `${n} of the ${p}`).join('; ')} (e.g. ${keys.slice(0, 4).join(', ')})`;
}
