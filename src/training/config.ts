// Owns the training configuration: the YAML schema of `refsr train --config`, its defaults (the paper's schedule
// for each stage), validation with one clear message per problem, and a fingerprint that a checkpoint records so
// a run folder is never resumed under a different configuration. Paths in the file are relative to the file.

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { RestorationConfig } from '../models/restoration-net.ts';
import type { TrunkWidths } from '../models/vgg-features.ts';
import type { VggLayer } from './losses/perceptual.ts';
import { DEFAULT_REFERENCE_PAIRS, type ReferencePairOptions } from './data/reference-pairs.ts';
import { DEFAULT_CLIP_OPTIONS, type ClipOptions } from './data/video-clips.ts';
import type { RefVsrConfig } from '../models/refvsr-arch.ts';
import { seededExtractorSeed, vggExtractorPath } from './extractor-source.ts';
import { MATCH_REFERENCE_VIEWS, type MatchReference } from '../matching/reference-view.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export type TrainStage = 'teacher' | 'student' | 'restoration' | 'multi-reference' | 'video';
export const TRAIN_STAGES: readonly TrainStage[] = ['teacher', 'student', 'restoration', 'multi-reference', 'video'];

export class TrainConfigError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'TrainConfigError'; }
}

export type TrainEngine = 'tfjs' | 'onnx';
export const TRAIN_ENGINES: readonly TrainEngine[] = ['tfjs', 'onnx'];

export interface TrainConfig {
  readonly stage: TrainStage;
  readonly seed: number;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  /** Learning rate per parameter-name prefix (longest prefix wins); 0 freezes. */
  readonly lrGroups: Readonly<Record<string, number>>;
  /** Steps at which every rate is multiplied by `lrDecay.factor`. */
  readonly lrDecay: { readonly at: readonly number[]; readonly factor: number };
  readonly checkpointEvery: number;
  readonly validateEvery: number;
  readonly logEvery: number;
  readonly data: {
    readonly train: readonly string[];
    /** Held-out folders; when empty, every `holdOutEvery`-th training image is held out instead. */
    readonly val: readonly string[];
    readonly holdOutEvery: number;
    readonly valSamples: number;
    /** Contrastive stages: side of the square crop the homography pair is made from (official gt_size 160). */
    readonly cropSize: number;
    /** Contrastive stages: corner perturbation range in pixels (official [0, 10]). */
    readonly perturb: readonly [number, number];
    /** Restoration: synthetic reference pairs. */
    readonly pairs: ReferencePairOptions;
    /** Restoration: a folder of scene folders (several photographs of one place each), and the held-out scenes. */
    readonly multiview?: string;
    readonly multiviewVal?: readonly string[];
    /**
     * Restoration: align each scene's photos (view-alignment.ts) with the VGG19 relu3_1 of `vgg` (any format
     * `refsr convert --vgg` reads), keeping the homographies in the JSON file `cache`.
     */
    readonly multiviewAlign?: { readonly vgg: string; readonly cache: string };
    /** Restoration: folders of `input/NAME` + `ref/NAME` pairs (CUFED-style). */
    readonly paired?: readonly string[];
    /** Restoration: the fraction of samples from each source (normalised; absent sources count 0). */
    readonly mix?: { readonly synthetic: number; readonly multiview: number; readonly paired: number };
    /** Video stage: the synthetic clips (frames, LR patch, camera motion per frame, unrelated-keyframe fraction). */
    readonly clip?: ClipOptions;
  };
  /** Validate once before the first step of a fresh run (the starting weights' figures). */
  readonly validateAtStart?: boolean;
  /** A validation figure whose highest value so far keeps `best.safetensors` (absent: no best model kept). */
  readonly bestMetric?: string;
  readonly model: {
    /** Trunk widths of the contrastive extractor and the reference VGG (VGG's 64/128/256 by default). */
    readonly trunkWidths: TrunkWidths;
    readonly restoration: RestorationConfig;
    /** Restoration: the view of the reference the matcher sees (matching/reference-view.ts); absent = `sharp`. */
    readonly matchReference?: MatchReference;
    /** Multi-reference stage: references per training sample (MRefSR's network fuses any number at inference). */
    readonly references?: number;
    /** Video stage: the Ref-VSR network's mid width, residual blocks per trunk and deformable groups. */
    readonly video?: RefVsrConfig;
  };
  readonly init: {
    /** Weights to start from (a bundle or a stage output); missing keys get the seeded initialisation. */
    readonly from?: string;
    /**
     * Restoration / student: the contrastive extractor (and, for restoration, the reference encoder) to use, frozen:
     * a weight file, or `seeded:N` for the untrained tied He start with seed N.
     */
    readonly extractor?: string;
    /**
     * Restoration: the frozen reference encoder (`vgg.*`) from `vgg19:PATH` instead of from the extractor, so a
     * trained (teacher/student) extractor can match while the ImageNet VGG19 trunk encodes, as in the official model.
     */
    readonly encoder?: string;
    /** Std of the seeded conv initialisation (official 0.02 for SRNTT-style nets; trunks trained from scratch use He). */
    readonly std: number | 'he';
    /** Parameter names initialised to zero. */
    readonly zero: readonly string[];
    /** Convolutions over cat[x, new inputs] whose `from` weights cover only x: name -> x's channel count (warm-start.ts). */
    readonly widen?: Readonly<Record<string, number>>;
    /** Name prefixes that take the seeded initialisation even when `from` has them. */
    readonly reseed?: readonly string[];
    /** Restoration with a `vgg19:` extractor or encoder: the encoder's relu1_1/2_1/3_1 taps multiplied by these (exact reparametrisation). */
    readonly encoderScale?: readonly [number, number, number];
  };
  readonly losses: {
    readonly l1: number;
    /** Contrastive: triplet margin, safe radius, KL distillation weight and temperature (student). */
    readonly margin: number;
    readonly safeRadius: number;
    readonly distillWeight: number;
    readonly temperature: number;
    /** Restoration: perceptual weight (official 1e-4; 0 = off) and the VGG layer it compares (no relu5_1 here). */
    readonly perceptual: number;
    readonly perceptualLayer: VggLayer;
    /** Restoration: WGAN generator weight (official 1e-6; 0 = off) and the critic's gradient penalty weight (10). */
    readonly gan: number;
    readonly gradientPenalty: number;
    /** Restoration: L1-only steps before the perceptual and adversarial terms start (official 10k). */
    readonly warmup: number;
    /** Video stage: weight of the L1 between SPyNet's flows and the synthetic clip's exact flows (LR px). */
    readonly flow?: number;
  };
  /** Restoration with `losses.gan` > 0: the WGAN-GP critic (official ImageDiscriminator) and its Adam rate. */
  readonly critic: { readonly ndf: number; readonly lr: number };
  /** Teacher stage only: the input-side image is the bicubic down/up copy (as the student sees it) instead of HR. */
  readonly degradedInput: boolean;
  /**
   * What computes the gradients: `tfjs` (default, the eager reference) or `onnx` (the ONNX Runtime engine of
   * src/training/onnx-engine/). Not part of the fingerprint: a run resumes on either engine.
   */
  readonly engine: TrainEngine;
  /**
   * Absolute path of the config file and its fingerprint: everything but the run length and report periods, with
   * every path taken relative to the config's folder, so a run resumes in another checkout of the repository.
   */
  readonly source: string;
  readonly fingerprint: string;
  /**
   * The fingerprint as refsr computed it before 2026-12-07, over absolute paths (so only valid in the checkout that
   * wrote it): a checkpoint recording it still resumes there.
   */
  readonly legacyFingerprint: string;
}

/** `value` with every absolute path (also after a `scheme:` such as `vgg19:`) made relative to `base`, `/`-separated. */
export function locationFree(value: unknown, base: string): unknown {
  if (typeof value === 'string') {
    const m = /^([a-z][a-z0-9]*:)?(.*)$/s.exec(value)!;
    const [scheme, rest] = [m[1] ?? '', m[2]!];
    return isAbsolute(rest) ? scheme + relative(base, rest).split(sep).join('/') : value;
  }
  if (Array.isArray(value)) return value.map((v) => locationFree(v, base));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, locationFree(v, base)]));
  return value;
}

type Json = Record<string, unknown>;

const STAGE_DEFAULTS: Record<TrainStage, { steps: number; batch: number; lr: number; lrGroups: Record<string, number> }> = {
  // Official teacher: batch 8, 5000 iterations, Adam 1e-3.
  teacher: { steps: 5000, batch: 8, lr: 1e-3, lrGroups: {} },
  // Official student: 75k iterations, lr x0.1 near the end (set by lr_decay in the paper config).
  student: { steps: 75000, batch: 8, lr: 1e-3, lrGroups: {} },
  // Official restoration: batch 9, Adam 1e-4, offset convs large 1e-4, medium 1e-5, small 1e-6.
  restoration: {
    steps: 255000, batch: 9, lr: 1e-4,
    lrGroups: { 'dyn_agg_restore.large_offset_conv': 1e-4, 'dyn_agg_restore.medium_offset_conv': 1e-5, 'dyn_agg_restore.small_offset_conv': 1e-6 },
  },
  // MRefSR's restoration schedule (Adam 1e-4, offset convs as C2-Matching's), started from a single-reference model.
  'multi-reference': {
    steps: 255000, batch: 9, lr: 1e-4,
    lrGroups: { 'dyn_agg_restore.large_offset_conv': 1e-4, 'dyn_agg_restore.medium_offset_conv': 1e-5, 'dyn_agg_restore.small_offset_conv': 1e-6 },
  },
  // BasicVSR's schedule (Adam 2e-4; SPyNet's ImageNet buffers fixed). SPyNet trains from scratch here (no
  // pretrained flow weights), supervised by the clips' exact flows.
  video: { steps: 300000, batch: 1, lr: 2e-4, lrGroups: { 'spynet.mean': 0, 'spynet.std': 0 } },
};

/** model.video: mid width, blocks, deformable groups (released: 64 / 30 / 8). */
function videoModelOf(m: Json): RefVsrConfig {
  const v = obj(m, 'video');
  const mid = num(v, 'mid', 64, positiveInt, 'a positive integer');
  const groups = num(v, 'groups', 8, positiveInt, 'a positive integer');
  if (64 % groups !== 0 || mid % groups !== 0) throw new TrainConfigError(`model.video.groups ${groups} must divide 64 and model.video.mid ${mid}`);
  return { numBlocks: num(v, 'blocks', 30, (x) => Number.isInteger(x) && x >= 0, 'a block count'), groups, ...(mid !== 64 ? { mid } : {}) };
}

/** data.clip: the video stage's synthetic clips. */
function clipOf(c: Json, unrelatedFallback: number): ClipOptions {
  const d = DEFAULT_CLIP_OPTIONS;
  return {
    frames: num(c, 'frames', d.frames, (v) => Number.isInteger(v) && v >= 2, 'an integer of at least 2'),
    lrPatch: num(c, 'lr_patch', d.lrPatch, (v) => Number.isInteger(v) && v >= 16, 'an integer of at least 16'),
    shift: num(c, 'shift', d.shift, nonNegative),
    zoom: num(c, 'zoom', d.zoom, nonNegative),
    rotation: num(c, 'rotation', d.rotation, nonNegative),
    unrelated: num(c, 'unrelated', unrelatedFallback, (v) => v >= 0 && v <= 1, 'a probability'),
  };
}

function num(o: Json, key: string, fallback: number, check: (v: number) => boolean = Number.isFinite, what = 'a number'): number {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !check(v)) throw new TrainConfigError(`"${key}" must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function trainEngine(v: unknown): TrainEngine {
  if (v === undefined || v === null) return 'tfjs';
  if (!TRAIN_ENGINES.includes(v as TrainEngine)) throw new TrainConfigError(`"engine" must be ${TRAIN_ENGINES.join(' or ')}, got ${JSON.stringify(v)}`);
  return v as TrainEngine;
}

function obj(o: Json, key: string): Json {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TrainConfigError(`"${key}" must be a mapping`);
  return v as Json;
}

function paths(o: Json, key: string, base: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((p) => typeof p === 'string')) throw new TrainConfigError(`data.${key} must be a folder path or a list of them`);
  return (list as string[]).map((p) => resolve(base, p));
}

const positiveInt = (v: number) => Number.isInteger(v) && v > 0;

const VGG_LAYERS: readonly VggLayer[] = ['relu1_1', 'relu2_1', 'relu3_1'];
function alignOf(o: Json, base: string): { vgg: string; cache: string } {
  if (typeof o.vgg !== 'string' || typeof o.cache !== 'string') throw new TrainConfigError('data.multiview_align needs vgg (VGG19 weights) and cache (a JSON file for the homographies)');
  return { vgg: resolve(base, o.vgg), cache: resolve(base, o.cache) };
}

function vggLayer(v: unknown): VggLayer {
  if (v === undefined || v === null) return 'relu3_1';
  if (!VGG_LAYERS.includes(v as VggLayer)) throw new TrainConfigError(`losses.perceptual_layer must be one of ${VGG_LAYERS.join(', ')} (refsr's VGG19 stops at relu3_1), got ${JSON.stringify(v)}`);
  return v as VggLayer;
}
const nonNegative = (v: number) => Number.isFinite(v) && v >= 0;

/** `init.encoder`: only `vgg19:PATH`, resolved against the config's folder. */
function encoderSpec(v: unknown, base: string): string {
  const vgg = typeof v === 'string' ? vggExtractorPath(v) : undefined;
  if (vgg === undefined) throw new TrainConfigError(`init.encoder must be vgg19:PATH (a VGG19 weight file), got ${JSON.stringify(v)}`);
  return `vgg19:${resolve(base, vgg)}`;
}

/** `seeded:N` as written; `vgg19:PATH` and plain weight files with the path resolved against the config's folder. */
function extractorSpec(spec: string, base: string): string {
  if (seededExtractorSeed(spec) !== undefined) return spec;
  const vgg = vggExtractorPath(spec);
  return vgg !== undefined ? `vgg19:${resolve(base, vgg)}` : resolve(base, spec);
}

function encoderScaleOf(v: unknown): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && x > 0)) throw new TrainConfigError('init.encoder_scale must be three positive numbers (relu1_1, relu2_1, relu3_1)');
  return [v[0], v[1], v[2]];
}

function widenOf(m: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw new TrainConfigError(`init.widen.${k} must be a channel count`);
    out[k] = v;
  }
  return out;
}

/** data.mix: fractions per source; by default synthetic only. Only sources that are configured may be drawn. */
function mixOf(m: Json, haveMultiview: boolean, havePaired: boolean): TrainConfig['data']['mix'] {
  const synthetic = num(m, 'synthetic', Object.keys(m).length ? 0 : 1, nonNegative);
  const multiview = num(m, 'multiview', 0, nonNegative);
  const paired = num(m, 'paired', 0, nonNegative);
  if (multiview > 0 && !haveMultiview) throw new TrainConfigError('data.mix.multiview > 0 needs data.multiview (a folder of scene folders)');
  if (paired > 0 && !havePaired) throw new TrainConfigError('data.mix.paired > 0 needs data.paired (folders with input/ and ref/)');
  const total = synthetic + multiview + paired;
  if (!(total > 0)) throw new TrainConfigError('data.mix must give some source a positive fraction');
  return { synthetic: synthetic / total, multiview: multiview / total, paired: paired / total };
}

export function parseTrainConfig(text: string, source: string): TrainConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new TrainConfigError(`${source}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TrainConfigError(`${source}: expected a YAML mapping`);
  const o = raw as Json;
  const base = dirname(resolve(source));
  try {
    const stage = o.stage as TrainStage;
    if (!TRAIN_STAGES.includes(stage)) throw new TrainConfigError(`"stage" must be ${TRAIN_STAGES.join(', ')}, got ${JSON.stringify(o.stage)}`);
    const d = STAGE_DEFAULTS[stage];
    const groupsRaw = o.lr_groups === undefined ? d.lrGroups : obj(o, 'lr_groups');
    const lrGroups: Record<string, number> = {};
    for (const [k, v] of Object.entries(groupsRaw)) {
      if (typeof v !== 'number' || !(v >= 0)) throw new TrainConfigError(`lr_groups.${k} must be a non-negative number`);
      lrGroups[k] = v;
    }
    const decay = obj(o, 'lr_decay');
    const at = decay.at ?? [];
    if (!Array.isArray(at) || !at.every((s) => Number.isInteger(s) && s > 0)) throw new TrainConfigError('lr_decay.at must be a list of step numbers');
    const data = obj(o, 'data');
    const train = paths(data, 'train', base);
    if (train.length === 0) throw new TrainConfigError('data.train must name at least one image folder');
    const pairsRaw = obj(data, 'pairs');
    const p = DEFAULT_REFERENCE_PAIRS;
    const range = (k: string, fb: readonly [number, number]): [number, number] => {
      const v = pairsRaw[k] ?? data[k];
      if (v === undefined) return [fb[0], fb[1]];
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number') || v[0] > v[1]) throw new TrainConfigError(`${k} must be [low, high]`);
      return [v[0], v[1]];
    };
    const pairs: ReferencePairOptions = {
      lrPatch: num(pairsRaw, 'lr_patch', p.lrPatch, positiveInt, 'a positive integer'),
      refSize: num(pairsRaw, 'ref_size', p.refSize, (v) => positiveInt(v) && v % 4 === 0, 'a positive multiple of 4'),
      scale: range('scale', p.scale),
      rotation: num(pairsRaw, 'rotation', p.rotation, nonNegative, 'a non-negative number of degrees'),
      shift: num(pairsRaw, 'shift', p.shift, nonNegative),
      perspective: num(pairsRaw, 'perspective', p.perspective, nonNegative),
      colourGain: num(pairsRaw, 'colour_gain', p.colourGain, nonNegative),
      brightness: num(pairsRaw, 'brightness', p.brightness, nonNegative),
      unrelated: num(pairsRaw, 'unrelated', p.unrelated, (v) => v >= 0 && v <= 1, 'a probability'),
    };
    const m = obj(o, 'model');
    const widthsRaw = m.trunk_widths ?? [64, 128, 256];
    if (!Array.isArray(widthsRaw) || widthsRaw.length !== 3 || !widthsRaw.every((x) => Number.isInteger(x) && x > 0)) throw new TrainConfigError('model.trunk_widths must be three positive integers');
    const trunkWidths = widthsRaw as unknown as TrunkWidths;
    const groups = num(m, 'groups', 8, positiveInt, 'a positive integer');
    const ngf = num(m, 'ngf', 64, (v) => positiveInt(v) && v % 2 === 0, 'a positive even integer');
    for (const c of trunkWidths) if (c % groups !== 0) throw new TrainConfigError(`model.trunk_widths ${trunkWidths.join('/')} must be divisible by model.groups ${groups}`);
    const restoration: RestorationConfig = {
      ngf,
      contentBlocks: num(m, 'content_blocks', 16, (v) => Number.isInteger(v) && v >= 0, 'a block count'),
      smallBlocks: num(m, 'small_blocks', 16, (v) => Number.isInteger(v) && v >= 0, 'a block count'),
      mediumBlocks: num(m, 'medium_blocks', 16, (v) => Number.isInteger(v) && v >= 0, 'a block count'),
      largeBlocks: num(m, 'large_blocks', 16, (v) => Number.isInteger(v) && v >= 0, 'a block count'),
      smallAggregation: m.small_aggregation === undefined ? true : Boolean(m.small_aggregation),
      groups,
      ...(trunkWidths.join() === '64,128,256' ? {} : { trunkWidths }),
    };
    const matchReference = m.match_reference ?? 'sharp';
    if (!MATCH_REFERENCE_VIEWS.includes(matchReference as MatchReference)) throw new TrainConfigError(`model.match_reference must be ${MATCH_REFERENCE_VIEWS.join(' or ')}`);
    const init = obj(o, 'init');
    const std = init.std === undefined ? 0.02 : init.std;
    if (std !== 'he' && !(typeof std === 'number' && std >= 0)) throw new TrainConfigError('init.std must be a number or "he"');
    const l = obj(o, 'losses');
    const critic = obj(o, 'critic');
    const lr = num(o, 'lr', d.lr, (v) => v > 0, 'a positive number');
    const cfg: Omit<TrainConfig, 'fingerprint' | 'legacyFingerprint'> = {
      stage,
      seed: num(o, 'seed', 0, Number.isInteger, 'an integer'),
      steps: num(o, 'steps', d.steps, positiveInt, 'a positive integer'),
      batch: num(o, 'batch', d.batch, positiveInt, 'a positive integer'),
      lr,
      lrGroups,
      lrDecay: { at: at as number[], factor: num(decay, 'factor', 0.1, (v) => v > 0, 'a positive number') },
      checkpointEvery: num(o, 'checkpoint_every', 100, positiveInt, 'a positive integer'),
      validateEvery: num(o, 'validate_every', 500, positiveInt, 'a positive integer'),
      logEvery: num(o, 'log_every', 10, positiveInt, 'a positive integer'),
      data: {
        train, val: paths(data, 'val', base),
        holdOutEvery: num(data, 'hold_out_every', 20, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
        valSamples: num(data, 'val_samples', 8, positiveInt, 'a positive integer'),
        cropSize: num(data, 'crop_size', 160, (v) => positiveInt(v) && v % 4 === 0, 'a positive multiple of 4'),
        perturb: range('perturb', [0, 10]),
        pairs,
        ...(typeof data.multiview === 'string' ? { multiview: resolve(base, data.multiview) } : {}),
        // Only when configured (so the fingerprint of older run folders is unchanged).
        ...(Array.isArray(data.multiview_val) ? { multiviewVal: data.multiview_val.map(String) } : {}),
        ...(data.multiview_align !== undefined ? { multiviewAlign: alignOf(obj(data, 'multiview_align'), base) } : {}),
        ...(data.paired !== undefined ? { paired: paths(data, 'paired', base) } : {}),
        ...(data.mix !== undefined ? { mix: mixOf(obj(data, 'mix'), typeof data.multiview === 'string', data.paired !== undefined) } : {}),
        ...(stage === 'video' ? { clip: clipOf(obj(data, 'clip'), DEFAULT_CLIP_OPTIONS.unrelated) } : {}),
      },
      ...(typeof o.best_metric === 'string' ? { bestMetric: o.best_metric } : {}),
      ...(o.validate_at_start ? { validateAtStart: true } : {}),
      // Only a non-default view enters the config (and so the fingerprint): older run folders still resume.
      model: {
        trunkWidths, restoration, ...(matchReference === 'sharp' ? {} : { matchReference: matchReference as MatchReference }),
        ...(stage === 'multi-reference' ? { references: num(m, 'references', 3, (v) => Number.isInteger(v) && v >= 1 && v <= 8, 'a reference count from 1 to 8') } : {}),
        ...(stage === 'video' ? { video: videoModelOf(m) } : {}),
      },
      init: {
        from: typeof init.from === 'string' ? resolve(base, init.from) : undefined,
        extractor: typeof init.extractor === 'string' ? extractorSpec(init.extractor, base) : undefined,
        std: std as number | 'he',
        zero: Array.isArray(init.zero) ? init.zero.map(String) : [],
        // Only when set (so the fingerprint of older run folders is unchanged).
        ...(init.widen !== undefined ? { widen: widenOf(obj(init, 'widen')) } : {}),
        ...(Array.isArray(init.reseed) ? { reseed: init.reseed.map(String) } : {}),
        ...(init.encoder_scale !== undefined ? { encoderScale: encoderScaleOf(init.encoder_scale) } : {}),
        ...(init.encoder !== undefined ? { encoder: encoderSpec(init.encoder, base) } : {}),
      },
      losses: {
        l1: num(l, 'l1', 1, nonNegative),
        margin: num(l, 'margin', 1, nonNegative),
        safeRadius: num(l, 'safe_radius', 4, nonNegative),
        distillWeight: num(l, 'distill_weight', 15, nonNegative),
        temperature: num(l, 'temperature', 0.15, (v) => v > 0, 'a positive number'),
        perceptual: num(l, 'perceptual', 0, nonNegative),
        perceptualLayer: vggLayer(l.perceptual_layer),
        gan: num(l, 'gan', 0, nonNegative),
        gradientPenalty: num(l, 'gradient_penalty', 10, nonNegative),
        warmup: num(l, 'warmup', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative step count'),
        ...(stage === 'video' ? { flow: num(l, 'flow', 0.05, nonNegative) } : {}),
      },
      critic: {
        ndf: num(critic, 'ndf', 32, positiveInt, 'a positive integer'),
        lr: num(critic, 'lr', lr, (v) => v > 0, 'a positive number'),
      },
      degradedInput: Boolean(o.degraded_input),
      engine: trainEngine(o.engine),
      source: resolve(source),
    };
    if (stage !== 'teacher' && !cfg.init.extractor) {
      throw new TrainConfigError(`the ${stage} stage needs init.extractor (the trained ${stage === 'student' ? 'teacher' : 'contrastive extractor'} weights)`);
    }
    if (stage === 'multi-reference' && (cfg.data.mix?.paired ?? 0) > 0) {
      throw new TrainConfigError('the multi-reference stage draws groups from synthetic views and multi-view scenes; data.mix.paired must be 0 (a paired folder has one reference per input)');
    }
    // What defines the training run; how long it runs and how often it reports do not, so a finished run can be
    // extended by raising `steps` and resuming.
    const { source: _s, steps: _n, checkpointEvery: _c, validateEvery: _v, logEvery: _l, validateAtStart: _a, engine: _e, ...hashed } = cfg;
    const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
    return { ...cfg, fingerprint: hash(locationFree(hashed, dirname(cfg.source))), legacyFingerprint: hash(hashed) };
  } catch (e) {
    if (e instanceof TrainConfigError) throw new TrainConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

export async function readTrainConfig(path: string): Promise<TrainConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TrainConfigError(`${path}: cannot read the config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseTrainConfig(text, path);
}

/** The learning rate of `name` at `step`: its group's rate (longest matching prefix) or the base rate, decayed. */
export function learningRate(cfg: TrainConfig, name: string, step: number): number {
  let best = -1;
  let lr = cfg.lr;
  for (const [prefix, v] of Object.entries(cfg.lrGroups)) {
    if (name.startsWith(prefix) && prefix.length > best) { best = prefix.length; lr = v; }
  }
  const decays = cfg.lrDecay.at.filter((s) => step >= s).length;
  return lr * cfg.lrDecay.factor ** decays;
}
