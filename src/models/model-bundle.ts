// Owns the refsr model file convention: one safetensors file holding the three networks under their official key
// names (ContrasExtractorSep `feature_extraction_image{1,2}.*`, RestorationNet `content_extractor.*` /
// `dyn_agg_restore.*`) plus the reference-side VGG19 under `vgg.conv*`, and `__metadata__` naming architecture,
// variant, VGG input convention and provenance (an MRefSR bundle: architecture `mrefsr`, `refsr.references` multi,
// built by models/import-mref.ts). Also the expected key/shape list of a bundle (for `convert`).

import { RESTORATION_VARIANTS, restorationNet, type RestorationConfig, type RestorationVariant } from './restoration-net.ts';
import { contrasBranch } from './contras-extractor.ts';
import { vgg19Features, trunkWidthsOf, type VggInputNorm } from './vgg-features.ts';
import type { MRefConfig } from './mref-arch.ts';
import { canonicalMRefConfig, mrefConfigFromShapes } from './mref-spec.ts';
import { OnnxOps } from '../graph/onnx-ops.ts';
import type { WeightMap } from '../weights/weight-map.ts';
import { MATCH_REFERENCE_VIEWS, type MatchReference } from '../matching/reference-view.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export const VGG_PREFIX = 'vgg.';

export interface BundleInfo {
  readonly variant: RestorationVariant | 'custom' | 'mref';
  /**
   * The C2-Matching restoration config. For a multi-reference bundle (`mref` set) only its `trunkWidths` are
   * meaningful: the widths of the extractor and VGG trunks feeding the network.
   */
  readonly restoration: RestorationConfig;
  /** Present for a multi-reference MRefSR bundle: its restoration network's configuration. */
  readonly mref?: MRefConfig;
  readonly vggInput: VggInputNorm;
  /** The view of the reference the matcher sees (see matching/reference-view.ts); official models: `sharp`. */
  readonly matchReference: MatchReference;
  /**
   * Mean best-match score below which this model's matcher reports a reference as looking unrelated
   * (`refsr.unrelated_score`, measured per model with bench/reference-score.ts); absent: the default threshold.
   */
  readonly unrelatedScore?: number;
}

export const METADATA_KEYS = {
  architecture: 'refsr.architecture',
  variant: 'refsr.variant',
  restorationConfig: 'refsr.restoration_config',
  vggInput: 'refsr.vgg_input',
  provenance: 'refsr.provenance',
  matchReference: 'refsr.match_reference',
  /** `multi` for a multi-reference restoration network (MRefSR); absent = one reference (C2-Matching). */
  references: 'refsr.references',
  /** The MRefSR network's configuration (JSON MRefConfig: ngf, blocks, groups, refWidths). */
  mrefConfig: 'refsr.mref_config',
  /** This model's "reference looks unrelated" threshold on the mean best-match score (a number as text). */
  unrelatedScore: 'refsr.unrelated_score',
} as const;

/** `refsr.architecture` of a bundle holding MRefSR's multi-reference restoration network. */
export const MREF_ARCHITECTURE = 'mrefsr';

export class ModelFileError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'ModelFileError'; }
}

/** Reads the bundle's description from its metadata, falling back to what its keys show (official imports). */
export function describeBundle(weights: WeightMap, source: string): BundleInfo {
  const md = weights.metadata;
  const arch = md[METADATA_KEYS.architecture];
  if (arch === MREF_ARCHITECTURE || md[METADATA_KEYS.references] === 'multi') return describeMRefBundle(weights, source);
  if (arch === 'c2-matching-refvsr') throw new ModelFileError(`${source} is a Ref-VSR video model: use it with \`refsr video CLIP --ref KEYFRAME --model ...\`; \`refsr upscale\` needs an image model (default, multi-reference, v1 or a converted C2-Matching checkpoint)`);
  if (arch && arch !== 'c2-matching') throw new ModelFileError(`${source}: architecture "${arch}" is not supported (expected c2-matching)`);
  let restoration: RestorationConfig;
  let variant: BundleInfo['variant'];
  if (md[METADATA_KEYS.restorationConfig]) {
    try {
      restoration = JSON.parse(md[METADATA_KEYS.restorationConfig]!) as RestorationConfig;
    } catch {
      throw new ModelFileError(`${source}: metadata ${METADATA_KEYS.restorationConfig} is not valid JSON`);
    }
    variant = (md[METADATA_KEYS.variant] as RestorationVariant | undefined) ?? 'custom';
  } else {
    variant = weights.has('dyn_agg_restore.small_dyn_agg.weight') ? 'full' : 'light';
    restoration = RESTORATION_VARIANTS[variant];
  }
  const vggInput = (md[METADATA_KEYS.vggInput] ?? 'imagenet') as VggInputNorm;
  if (!['imagenet', 'caffe'].includes(vggInput)) throw new ModelFileError(`${source}: unknown VGG input convention "${vggInput}"`);
  const matchReference = (md[METADATA_KEYS.matchReference] ?? 'sharp') as MatchReference;
  if (!MATCH_REFERENCE_VIEWS.includes(matchReference)) throw new ModelFileError(`${source}: unknown ${METADATA_KEYS.matchReference} "${matchReference}" (expected ${MATCH_REFERENCE_VIEWS.join(' or ')})`);
  for (const probe of ['feature_extraction_image1.model.conv1_1.weight', 'content_extractor.conv_first.weight', `${VGG_PREFIX}conv1_1.weight`]) {
    if (!weights.has(probe)) throw new ModelFileError(`${source}: not a refsr model bundle (missing "${probe}"); import official checkpoints with \`refsr convert\``);
  }
  return { variant, restoration, vggInput, matchReference, ...unrelatedScoreOf(md, source) };
}

function unrelatedScoreOf(md: Record<string, string>, source: string): { unrelatedScore?: number } {
  const text = md[METADATA_KEYS.unrelatedScore];
  if (text === undefined) return {};
  const v = Number(text);
  if (!(Number.isFinite(v) && v > -1 && v <= 1)) throw new ModelFileError(`${source}: metadata ${METADATA_KEYS.unrelatedScore} must be a score in (-1, 1], got "${text}"`);
  return { unrelatedScore: v };
}

/** An MRefSR bundle (models/import-mref.ts): its network config from the metadata, checked against the weights. */
function describeMRefBundle(weights: WeightMap, source: string): BundleInfo {
  const md = weights.metadata;
  let mref: MRefConfig;
  try {
    mref = JSON.parse(md[METADATA_KEYS.mrefConfig] ?? '') as MRefConfig;
  } catch {
    throw new ModelFileError(`${source}: a multi-reference model without a valid ${METADATA_KEYS.mrefConfig} in its metadata`);
  }
  const fromWeights = mrefConfigFromShapes((k) => weights.get(k)?.shape);
  if (canonicalMRefConfig(fromWeights) !== canonicalMRefConfig(mref)) throw new ModelFileError(`${source}: ${METADATA_KEYS.mrefConfig} ${JSON.stringify(mref)} does not match the weights (${JSON.stringify(fromWeights)})`);
  const vggInput = (md[METADATA_KEYS.vggInput] ?? 'imagenet') as VggInputNorm;
  if (!['imagenet', 'caffe'].includes(vggInput)) throw new ModelFileError(`${source}: unknown VGG input convention "${vggInput}"`);
  for (const probe of ['feature_extraction_image1.model.conv1_1.weight', `${VGG_PREFIX}conv1_1.weight`]) {
    if (!weights.has(probe)) throw new ModelFileError(`${source}: incomplete multi-reference bundle (missing "${probe}"); import official checkpoints with \`refsr convert\``);
  }
  const trunkWidths = trunkWidthsOf((k) => weights.get(k)?.shape, VGG_PREFIX);
  const extractorWidths = trunkWidthsOf((k) => weights.get(k)?.shape, 'feature_extraction_image1.model.');
  if (JSON.stringify(trunkWidths) !== JSON.stringify(extractorWidths)) {
    throw new ModelFileError(`${source}: extractor widths ${extractorWidths.join('/')} differ from the reference VGG widths ${trunkWidths.join('/')}; refsr runs both trunks at one width`);
  }
  const matchReference = (md[METADATA_KEYS.matchReference] ?? 'sharp') as MatchReference;
  if (!MATCH_REFERENCE_VIEWS.includes(matchReference)) throw new ModelFileError(`${source}: unknown ${METADATA_KEYS.matchReference} "${matchReference}" (expected ${MATCH_REFERENCE_VIEWS.join(' or ')})`);
  return { variant: 'mref', restoration: { ...RESTORATION_VARIANTS.full, trunkWidths }, mref, vggInput, matchReference, ...unrelatedScoreOf(md, source) };
}

/** Every parameter key and shape a bundle with this restoration config must contain. */
export function bundleSpec(restoration: RestorationConfig): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => {
    spec.set(name, [...shape]);
    return { shape, data: new Float32Array(0) };
  });
  const img = ops.input('img', [1, 3, 48, 48]);
  contrasBranch(ops, 1, img, restoration.trunkWidths);
  contrasBranch(ops, 2, img, restoration.trunkWidths);
  const v = vgg19Features(ops, VGG_PREFIX, img, 'imagenet', restoration.trunkWidths);
  const level = (x: typeof img, pre: number) => ({ ref: x, refLocal: x, preOffset: ops.input(`pre${pre}`, [1, 18, 12 * pre, 12 * pre]) });
  restorationNet(ops, { lr: ops.input('lr', [1, 3, 12, 12]), relu3_1: level(v.relu3_1, 1), relu2_1: level(v.relu2_1, 2), relu1_1: level(v.relu1_1, 4) }, restoration);
  return spec;
}

export function parameterCount(spec: Map<string, number[]>, prefixFilter?: (key: string) => boolean): number {
  let n = 0;
  for (const [k, s] of spec) if (!prefixFilter || prefixFilter(k)) n += s.reduce((a, b) => a * b, 1);
  return n;
}
