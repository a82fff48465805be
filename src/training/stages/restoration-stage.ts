// Owns the restoration stage: RestorationNet trained on synthetic reference pairs with the contrastive extractor and
// the reference encoder frozen. The frozen half (features, correspondence matching, pre-offsets) runs on ONNX
// Runtime through the same code as `refsr upscale`, so training sees exactly the inputs inference will; the
// trainable half runs on the tfjs interpreter of the same network definition. Validation runs the whole inference
// pipeline on fixed held-out samples and reports PSNR-Y against bicubic. The exported file is a complete model
// bundle (extractor + reference encoder + restoration, with metadata) that `refsr upscale --model` loads.
// Losses: L1, and after `losses.warmup` steps the official GAN phase when configured: perceptual (the frozen
// reference encoder's VGG features, relu3_1 at most) and WGAN-GP against the official ImageDiscriminator, which is
// this stage's critic (its own Adam, checkpointed with the run).
//
// Reference encoder: the official model uses a frozen ImageNet VGG19; refsr's own models may not ship those
// weights, so when the extractor file carries no `vgg.*` keys, the encoder is the trained reference branch of the
// contrastive extractor itself (same conv1_1..conv3_1 trunk, same ImageNet input normalisation).

import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, type WeightSource } from '../param-store.ts';
import { TfjsOps, fromNCHW } from '../tfjs-ops.ts';
import { restorationNet } from '../../models/restoration-net.ts';
import { METADATA_KEYS, VGG_PREFIX, type BundleInfo } from '../../models/model-bundle.ts';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { tileInputs } from '../../pipeline/restore-tiled.ts';
import { correspondenceFeatures } from '../../pipeline/super-resolve.ts';
import { matchRows } from '../../matching/correspondence.ts';
import { flowFromIndex } from '../../matching/pre-offset.ts';
import { holdOut, loadImageFolders, type NamedImage } from '../data/image-folder.ts';
import { minPhotoSide, restorationSample, type RestorationSample } from '../data/reference-pairs.ts';
import { cachedAligner } from '../data/view-alignment.ts';
import { loadPairedFolders, loadScenes, multiviewSample, pairedSample, type PairedImages, type Scene } from '../data/pair-sources.ts';
import { l1Loss } from '../losses/pixel.ts';
import { perceptualLoss } from '../losses/perceptual.ts';
import { gradientPenalty, wganLoss } from '../losses/wgan-gp.ts';
import { imageDiscriminator } from '../../models/discriminator.ts';
import { toNCHW } from '../../image/layout.ts';
import { Rng } from '../../random/rng.ts';
import { readWeightFile } from '../../weights/read-weight-file.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import type { TrainConfig } from '../config.ts';
import { CRITIC_PREFIX, paramsWithPrefix, type StageCritic, type StageLoss, type TrainingStage } from '../train-loop.ts';
import { concatBatch, stepSeed } from './batch.ts';
import { loadExtractor, vggExtractor, vggExtractorPath } from '../extractor-source.ts';
import { inheritedProvenance } from '../provenance.ts';
import { warmStartWeight } from '../warm-start.ts';
import type { Network } from '../onnx-engine/train-graph.ts';
import { referenceGainFigures } from '../reference-gain.ts';

type LevelName = 'relu1_1' | 'relu2_1' | 'relu3_1';
const LEVEL_NAMES: readonly LevelName[] = ['relu1_1', 'relu2_1', 'relu3_1'];

export interface RestorationBatch {
  readonly lr: Float32Tensor;
  readonly gt: Float32Tensor;
  readonly levels: Record<LevelName, { ref: Float32Tensor; refLocal: Float32Tensor; preOffset: Float32Tensor }>;
}

const RESTORATION_PREFIXES = ['content_extractor.', 'dyn_agg_restore.'];

/** The stage's photos: the training folders, and the held-out ones (`data.val`, or every `holdOutEvery`-th). */
export async function restorationImages(cfg: TrainConfig): Promise<{ train: NamedImage[]; val: NamedImage[] }> {
  const minSide = minPhotoSide(cfg.data.pairs);
  const all = await loadImageFolders(cfg.data.train, minSide);
  return cfg.data.val.length ? { train: all, val: await loadImageFolders(cfg.data.val, minSide) } : holdOut(all, cfg.data.holdOutEvery);
}

/** The fixed validation pairs of a run: `count` draws (default `data.valSamples`) over the held-out photos in turn. */
export function validationSamples(cfg: TrainConfig, valImages: readonly NamedImage[], count = cfg.data.valSamples): RestorationSample[] {
  const rng = new Rng(stepSeed(cfg.seed, -1));
  const out: RestorationSample[] = [];
  for (let i = 0; i < count && valImages.length; i++) out.push(restorationSample([valImages[i % valImages.length]!], rng, cfg.data.pairs));
  return out;
}

/** The fixed multi-view validation pairs: `count` draws from the held-out scenes, each with its own reference. */
export function multiviewValidationSamples(cfg: TrainConfig, scenes: readonly Scene[], count = cfg.data.valSamples): RestorationSample[] {
  if (scenes.length === 0) return [];
  const rng = new Rng(stepSeed(cfg.seed, -3));
  const o = { ...cfg.data.pairs, unrelated: 0 };
  return Array.from({ length: count }, () => multiviewSample(scenes, rng, o));
}

/** The extra pair sources of a run (multi-view scenes, paired folders), loaded when its mix draws from them. */
export async function pairSources(cfg: TrainConfig): Promise<{ scenes: Scene[]; valScenes: Scene[]; paired: PairedImages[] }> {
  const minSide = cfg.data.pairs.refSize;
  let mv: { train: Scene[]; val: Scene[] } = { train: [], val: [] };
  if (cfg.data.multiview) {
    const aligner = cfg.data.multiviewAlign ? await cachedAligner(cfg.data.multiviewAlign.cache, cfg.data.multiviewAlign.vgg) : undefined;
    try {
      mv = await loadScenes(cfg.data.multiview, cfg.data.multiviewVal ?? [], minSide, aligner?.align);
    } finally {
      await aligner?.close();
    }
  }
  const paired = cfg.data.paired?.length && (cfg.data.mix?.paired ?? 0) > 0 ? await loadPairedFolders(cfg.data.paired) : [];
  return { scenes: mv.train, valScenes: mv.val, paired };
}

/** The frozen weights: the extractor's two branches and the reference encoder (`vgg.*`, or branch 2's trunk). */
export function frozenWeights(extractor: WeightMap): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const k of extractor.keys()) {
    if (k.startsWith('feature_extraction_image') || k.startsWith(VGG_PREFIX)) out.set(k, extractor.get(k)!);
  }
  if (!extractor.keys().some((k) => k.startsWith(VGG_PREFIX))) {
    const branch = 'feature_extraction_image2.model.';
    for (const k of extractor.keys()) if (k.startsWith(branch)) out.set(VGG_PREFIX + k.slice(branch.length), extractor.get(k)!);
  }
  return out;
}

/** A run's frozen weights: `init.extractor`'s, with the reference encoder from `init.encoder` when given. */
export async function frozenStart(cfg: TrainConfig): Promise<Map<string, Float32Tensor>> {
  const frozen = frozenWeights(await loadExtractor(cfg.init.extractor!, cfg.model.trunkWidths, cfg.init.encoderScale));
  if (cfg.init.encoder) {
    const encoder = await vggExtractor(vggExtractorPath(cfg.init.encoder)!, cfg.init.encoderScale);
    for (const k of [...frozen.keys()]) if (k.startsWith(VGG_PREFIX)) frozen.delete(k);
    for (const k of encoder.keys()) if (k.startsWith(VGG_PREFIX)) frozen.set(k, encoder.get(k)!);
  }
  return frozen;
}

/** How the frozen half (features, matching) of a restoration run is described to the inference code. */
function frozenHalfInfo(cfg: TrainConfig): BundleInfo {
  return { variant: 'custom', restoration: cfg.model.restoration, vggInput: 'imagenet', matchReference: cfg.model.matchReference ?? 'sharp' };
}

/**
 * What both restoration stages start from: the photos split, the frozen weights, the trainable parameters (resumed,
 * else warm-started from `init.from`, else seeded), the starting model file (`from`, for its metadata) and the frozen
 * half on ONNX Runtime with `frozenThreads` threads.
 */
export async function restorationStart(cfg: TrainConfig, resume: WeightSource | undefined, frozenThreads?: number) {
  const split = await restorationImages(cfg);
  const frozen = await frozenStart(cfg);
  const from = cfg.init.from ? await readWeightFile(cfg.init.from) : undefined;
  const source: WeightSource = (name, shape) => resume?.(name) ?? warmStartWeight(from, { widen: cfg.init.widen ?? {}, reseed: cfg.init.reseed ?? [] }, name, shape);
  const params = new ParamStore({ source, init: { seed: cfg.seed, std: cfg.init.std, zero: cfg.init.zero } });
  const features = new RefSRModel(WeightMap.fromTensors(frozen), frozenHalfInfo(cfg), cfg.init.extractor!, { threads: frozenThreads });
  return { split, frozen, from, params, features };
}

/** A model bundle's weights: the frozen half and the trained restoration network (both restoration stages). */
export function restorationBundle(frozen: ReadonlyMap<string, Float32Tensor>, params: ParamStore, metadata: Record<string, string> = {}): WeightMap {
  const all = new Map(frozen);
  for (const [k, t] of paramsWithPrefix(params, RESTORATION_PREFIXES)) all.set(k, t);
  return WeightMap.fromTensors(all, metadata);
}

/** Writes a bundle's weights as F32 safetensors with its metadata, atomically. */
export async function writeBundle(path: string, weights: WeightMap, metadata: Record<string, string>): Promise<void> {
  const tensors = new Map<string, TensorToWrite>();
  for (const k of weights.keys()) {
    const t = weights.get(k)!;
    tensors.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  }
  await writeSafetensors(path, tensors, metadata);
}

export class RestorationStage implements TrainingStage<RestorationBatch> {
  private readonly valSamples: RestorationSample[];
  private readonly mvValSamples: RestorationSample[];
  /** Frozen VGG of the perceptual loss: the bundle's reference encoder (`vgg.*`), when the loss is on. */
  private readonly vgg: ParamStore | undefined;
  readonly critic: StageCritic<RestorationBatch> | undefined;
  /** The generator output of the last step, the critic's fake batch. */
  private lastFake: tf.Tensor | undefined;

  private constructor(
    private readonly cfg: TrainConfig,
    readonly params: ParamStore,
    private readonly frozen: Map<string, Float32Tensor>,
    private readonly features: RefSRModel,
    private readonly images: NamedImage[],
    valImages: NamedImage[],
    resume: WeightSource | undefined,
    private readonly sources: { scenes: Scene[]; valScenes: Scene[]; paired: PairedImages[] } = { scenes: [], valScenes: [], paired: [] },
    /** The starting model's metadata (`init.from`): its VGG19 credit and, with the same extractor, its unrelated-reference threshold carry over. */
    private readonly fromMetadata: Record<string, string> = {},
  ) {
    this.valSamples = validationSamples(cfg, valImages);
    this.mvValSamples = multiviewValidationSamples(cfg, sources.valScenes);
    const L = cfg.losses;
    this.vgg = L.perceptual > 0 ? new ParamStore({ source: (name) => frozen.get(name), trainable: false }) : undefined;
    if (L.gan > 0) {
      const params = new ParamStore({ source: (name) => resume?.(CRITIC_PREFIX + name), init: { seed: cfg.seed + 1, std: cfg.init.std } });
      this.critic = { params, lr: cfg.critic.lr, active: (step) => step > L.warmup, loss: (b, step) => this.criticLoss(params, b, step) };
    }
  }

  private discriminator(params: ParamStore): (x: tf.Tensor) => tf.Tensor {
    const ops = new TfjsOps(params);
    return (x) => imageDiscriminator(ops, x, this.cfg.critic.ndf);
  }

  /** Official WGAN-GP critic loss: -mean D(real) + mean D(fake) + gradient penalty on random interpolates. */
  private criticLoss(params: ParamStore, b: RestorationBatch, step: number): StageLoss {
    const d = this.discriminator(params);
    const real = fromNCHW(b.gt);
    const fake = this.lastFake!;
    const dReal = wganLoss(d(real), true, true);
    const dFake = wganLoss(d(fake), false, true);
    const rng = new Rng(stepSeed(this.cfg.seed, -2 - step));
    const n = real.shape[0]!;
    const alpha = tf.tensor(Float32Array.from({ length: n }, () => rng.uniform()), [n, 1, 1, 1]);
    const gp = gradientPenalty(d, real, fake, alpha, this.cfg.losses.gradientPenalty);
    return { loss: tf.addN([dReal, dFake, gp.penalty]) as tf.Scalar, logs: { d_real: dReal, d_fake: dFake, gp: gp.penalty } };
  }

  /**
   * `frozenThreads`: ONNX Runtime threads of the frozen half (features, matching) that `prepare` runs; default all
   * cores. The ONNX engine's batch worker passes 1: the other core is the step's.
   */
  static async create(cfg: TrainConfig, resume: WeightSource | undefined, opts: { frozenThreads?: number } = {}): Promise<RestorationStage> {
    const { split, frozen, from, params, features } = await restorationStart(cfg, resume, opts.frozenThreads);
    return new RestorationStage(cfg, params, frozen, features, split.train, split.val, resume, await pairSources(cfg), from?.metadata ?? {});
  }

  private async inputsOf(s: RestorationSample) {
    const { inFeat, refFeat } = await correspondenceFeatures(this.features, s.up, s.ref);
    const flow = flowFromIndex(await matchRows(inFeat, refFeat.contras, { threads: this.features.threads }));
    return tileInputs(toNCHW(s.lr), refFeat, flow, 0, 0, s.lr.height, s.lr.width);
  }

  /** One training pair from the source `data.mix` draws (synthetic views when no mix is configured). */
  private sample(rng: Rng): RestorationSample {
    const mix = this.cfg.data.mix;
    if (!mix) return restorationSample(this.images, rng, this.cfg.data.pairs);
    const u = rng.uniform();
    if (u < mix.multiview && this.sources.scenes.length) return multiviewSample(this.sources.scenes, rng, this.cfg.data.pairs);
    if (u < mix.multiview + mix.paired && this.sources.paired.length) return pairedSample(this.sources.paired, rng, this.cfg.data.pairs);
    return restorationSample(this.images, rng, this.cfg.data.pairs);
  }

  async prepare(step: number): Promise<RestorationBatch> {
    const rng = new Rng(stepSeed(this.cfg.seed, step));
    const items = [];
    const gts = [];
    for (let b = 0; b < this.cfg.batch; b++) {
      const s = this.sample(rng);
      items.push(await this.inputsOf(s));
      gts.push(toNCHW(s.gt));
    }
    const levels = {} as RestorationBatch['levels'];
    for (const l of LEVEL_NAMES) {
      levels[l] = {
        ref: concatBatch(items.map((i) => i.levels[l].ref)),
        refLocal: concatBatch(items.map((i) => i.levels[l].refLocal)),
        preOffset: concatBatch(items.map((i) => i.levels[l].preOffset)),
      };
    }
    return { lr: concatBatch(items.map((i) => i.lr)), gt: concatBatch(gts), levels };
  }

  /** The batch as the ONNX engine's graph inputs (onnx-engine/restoration-step.ts). */
  engineInputs(b: RestorationBatch): Record<string, Float32Tensor> {
    const out: Record<string, Float32Tensor> = { lr: b.lr };
    for (const l of LEVEL_NAMES) {
      if (l === 'relu3_1' && !this.cfg.model.restoration.smallAggregation) continue;
      out[`ref_${l}`] = b.levels[l].ref;
      out[`loc_${l}`] = b.levels[l].refLocal;
      out[`pre_${l}`] = b.levels[l].preOffset;
    }
    return out;
  }

  /** RestorationNet on engineInputs' names, head `out`. */
  engineNetwork(): Network {
    const cfg = this.cfg.model.restoration;
    return (ops, ins) => {
      const level = (l: string) => ({ ref: ins[`ref_${l}`]!, refLocal: ins[`loc_${l}`]!, preOffset: ins[`pre_${l}`]! });
      return { out: restorationNet(ops, { lr: ins.lr!, relu3_1: cfg.smallAggregation ? level('relu3_1') : undefined, relu2_1: level('relu2_1'), relu1_1: level('relu1_1') }, cfg).out };
    };
  }

  loss(b: RestorationBatch, step: number): StageLoss {
    const ops = new TfjsOps(this.params);
    const level = (l: LevelName) => ({ ref: fromNCHW(b.levels[l].ref), refLocal: fromNCHW(b.levels[l].refLocal), preOffset: fromNCHW(b.levels[l].preOffset) });
    const cfg = this.cfg.model.restoration;
    const out = restorationNet(ops, {
      lr: fromNCHW(b.lr),
      relu3_1: cfg.smallAggregation ? level('relu3_1') : undefined,
      relu2_1: level('relu2_1'),
      relu1_1: level('relu1_1'),
    }, cfg).out;
    const gt = fromNCHW(b.gt);
    const l1 = l1Loss(out, gt);
    this.recordFake(out);
    const extra = this.outputTerms(out, gt, step);
    const terms: tf.Tensor[] = [tf.mul(this.cfg.losses.l1, l1), ...extra.terms];
    return { loss: (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar, logs: { l1, ...extra.logs } };
  }

  /** Whether step `step` has loss terms beyond the L1 (the GAN phase: perceptual and adversarial, after the warm-up). */
  hasOutputTerms(step: number): boolean {
    return step > this.cfg.losses.warmup && (this.vgg !== undefined || this.critic !== undefined);
  }

  /**
   * The loss terms on the generator output beyond the L1 (both engines: the ONNX engine calls it on its output to get
   * their gradient w.r.t. the output): after `losses.warmup` steps, perceptual and adversarial terms as the official
   * GAN schedule. Each engine records the output as the critic's fake batch itself (`recordFake`).
   */
  outputTerms(out: tf.Tensor, gt: tf.Tensor, step: number): { terms: tf.Tensor[]; logs: Record<string, tf.Scalar> } {
    const L = this.cfg.losses;
    const logs: Record<string, tf.Scalar> = {};
    const terms: tf.Tensor[] = [];
    if (this.hasOutputTerms(step)) {
      if (this.vgg) {
        logs.perceptual = perceptualLoss(new TfjsOps(this.vgg), out, gt, {
          layers: { [L.perceptualLayer]: 1 }, weight: L.perceptual, prefix: VGG_PREFIX, norm: 'imagenet', widths: this.cfg.model.trunkWidths,
        });
        terms.push(logs.perceptual);
      }
      if (this.critic) {
        logs.gan = wganLoss(this.discriminator(this.critic.params)(out), true, false, L.gan);
        terms.push(logs.gan);
      }
    }
    return { terms, logs };
  }

  /** Keeps the generator output as the critic's next fake batch (when there is a critic). */
  recordFake(out: tf.Tensor): void {
    if (!this.critic) return;
    this.lastFake?.dispose();
    this.lastFake = tf.keep(tf.clone(out));
  }

  private bundle(): WeightMap {
    return restorationBundle(this.frozen, this.params);
  }

  /**
   * PSNR-Y gain over bicubic on the fixed held-out pairs (synthetic views, then held-out multi-view scenes), each with
   * its own reference and with a shuffled one (the reference of the pair half the list away, so a multi-view pair
   * gets a synthetic pair's reference and vice versa): `gain_db` (own), `shuffled_gain_db`, `ref_gain_db` (own minus
   * shuffled), and the same per source (`syn_*`, `mv_*`).
   */
  async validate(signal?: AbortSignal): Promise<Record<string, number>> {
    if (this.valSamples.length + this.mvValSamples.length === 0) return {};
    const model = new RefSRModel(this.bundle(), frozenHalfInfo(this.cfg), 'validation');
    try {
      return await referenceGainFigures(model, this.valSamples, this.mvValSamples, { signal });
    } finally {
      await model.release();
    }
  }

  async exportModel(path: string, step: number): Promise<void> {
    // The "reference looks unrelated" threshold is a property of the matcher: kept when the run matches with the
    // starting model's own extractor.
    const sameExtractor = this.cfg.init.from !== undefined && this.cfg.init.extractor !== undefined && resolve(this.cfg.init.from) === resolve(this.cfg.init.extractor);
    const unrelated = sameExtractor ? this.fromMetadata[METADATA_KEYS.unrelatedScore] : undefined;
    await writeBundle(path, this.bundle(), {
      [METADATA_KEYS.architecture]: 'c2-matching',
      [METADATA_KEYS.variant]: 'custom',
      [METADATA_KEYS.restorationConfig]: JSON.stringify(this.cfg.model.restoration),
      [METADATA_KEYS.vggInput]: 'imagenet',
      ...(this.cfg.model.matchReference ? { [METADATA_KEYS.matchReference]: this.cfg.model.matchReference } : {}),
      ...(unrelated !== undefined ? { [METADATA_KEYS.unrelatedScore]: unrelated } : {}),
      [METADATA_KEYS.provenance]: inheritedProvenance(this.cfg, step, this.fromMetadata[METADATA_KEYS.provenance]),
    });
  }

  async dispose(): Promise<void> {
    this.params.dispose();
    this.vgg?.dispose();
    this.critic?.params.dispose();
    this.lastFake?.dispose();
    await this.features.release();
  }
}
