// Owns the two contrastive correspondence stages. Teacher: ContrasExtractorSep on an image and its homography-warped
// copy (both HR, or the input side degraded with `degraded_input`), triplet loss with the hardest negative.
// Student: the input side is the bicubic down/up copy, plus the KL distillation of a frozen teacher's correlation.
// Validation: on held-out images with fixed draws, the loss and the fraction of ground-truth points whose nearest
// reference feature (cosine) lies within one feature cell of the true position.

import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, type WeightSource } from '../param-store.ts';
import { TfjsOps, fromNCHW } from '../tfjs-ops.ts';
import { contrasBranch } from '../../models/contras-extractor.ts';
import { contrastiveLoss } from '../losses/contrastive.ts';
import { contrasSample, drawPair } from '../data/homography.ts';
import { applyFlips, drawFlips } from '../data/augment.ts';
import { holdOut, loadImageFolders, type NamedImage } from '../data/image-folder.ts';
import { crop } from '../../image/layout.ts';
import { Rng } from '../../random/rng.ts';
import { readWeightFile } from '../../weights/read-weight-file.ts';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import type { TrainConfig } from '../config.ts';
import { paramsWithPrefix, type StageLoss, type TrainingStage } from '../train-loop.ts';
import { concatBatch, stepSeed } from './batch.ts';
import { METADATA_KEYS } from '../../models/model-bundle.ts';
import { loadExtractor, tieExtractorBranches } from '../extractor-source.ts';
import { trainingProvenance } from '../provenance.ts';

export interface ContrastiveBatch {
  readonly in1: Float32Tensor;
  readonly in2: Float32Tensor;
  /** Teacher's view of image 1 (HR), student stage only. */
  readonly teacherIn1?: Float32Tensor;
  readonly coords: { data: Float64Array; width: number }[];
}

const EXTRACTOR_PREFIXES = ['feature_extraction_image1.', 'feature_extraction_image2.'];

export class ContrastiveStage implements TrainingStage<ContrastiveBatch> {
  private readonly val: ContrastiveBatch[] = [];

  private constructor(
    private readonly cfg: TrainConfig,
    readonly params: ParamStore,
    /** The frozen teacher (student stage), read by the ONNX engine too. */
    readonly teacher: ParamStore | undefined,
    private readonly images: NamedImage[],
    valImages: NamedImage[],
  ) {
    const rng = new Rng(stepSeed(cfg.seed, -1));
    for (let i = 0; i < cfg.data.valSamples && valImages.length; i++) this.val.push(this.batchFrom([valImages[i % valImages.length]!], rng));
  }

  static async create(cfg: TrainConfig, resume: WeightSource | undefined): Promise<ContrastiveStage> {
    const minSide = cfg.data.cropSize;
    const all = await loadImageFolders(cfg.data.train, minSide);
    const split = cfg.data.val.length ? { train: all, val: await loadImageFolders(cfg.data.val, minSide) } : holdOut(all, cfg.data.holdOutEvery);
    const from = cfg.init.from ? await readWeightFile(cfg.init.from) : undefined;
    // Both branches start from the same weights, as the official ones both start from VGG: with independent
    // random branches, corresponding features start uncorrelated and the triplet loss settles on anti-aligned
    // constant features (positives and negatives equally far) instead of learning to match.
    const init = { seed: cfg.seed, std: cfg.init.std, zero: cfg.init.zero, seedName: tieExtractorBranches };
    if (cfg.stage === 'student') {
      const t = await loadExtractor(cfg.init.extractor!, cfg.model.trunkWidths);
      const teacher = new ParamStore({ source: t.lookup, trainable: false });
      // The student starts from the teacher unless resuming or given other weights.
      const source: WeightSource = (name) => resume?.(name) ?? from?.get(name) ?? t.get(name);
      return new ContrastiveStage(cfg, new ParamStore({ source, init }), teacher, split.train, split.val);
    }
    // A teacher may start from an extractor (`init.extractor`, e.g. `vgg19:PATH`, the paper's ImageNet start).
    const start = cfg.init.extractor ? await loadExtractor(cfg.init.extractor, cfg.model.trunkWidths) : undefined;
    const source: WeightSource = (name) => resume?.(name) ?? from?.get(name) ?? start?.get(name);
    return new ContrastiveStage(cfg, new ParamStore({ source, init }), undefined, split.train, split.val);
  }

  private batchFrom(images: readonly NamedImage[], rng: Rng): ContrastiveBatch {
    const s = this.cfg.data.cropSize;
    const pairOpts = { perturbRange: this.cfg.data.perturb, window: s };
    const in1: Float32Tensor[] = [];
    const in2: Float32Tensor[] = [];
    const hr1: Float32Tensor[] = [];
    const coords: { data: Float64Array; width: number }[] = [];
    const degraded = this.cfg.stage === 'student' || this.cfg.degradedInput;
    for (const { image } of images) {
      const x = rng.int(image.width - s + 1);
      const y = rng.int(image.height - s + 1);
      const patch = applyFlips(crop(image, x, y, s, s), drawFlips(rng));
      const sample = contrasSample(patch, drawPair(rng, s, s, pairOpts), pairOpts);
      in1.push(degraded ? sample.imgInUp : sample.imgIn);
      hr1.push(sample.imgIn);
      in2.push(sample.imgRef);
      coords.push({ data: sample.transformedCoordinate, width: s });
    }
    return { in1: concatBatch(in1), in2: concatBatch(in2), teacherIn1: this.teacher ? concatBatch(hr1) : undefined, coords };
  }

  async prepare(step: number): Promise<ContrastiveBatch> {
    const rng = new Rng(stepSeed(this.cfg.seed, step));
    const picks = Array.from({ length: this.cfg.batch }, () => this.images[rng.int(this.images.length)]!);
    return this.batchFrom(picks, rng);
  }

  private features(b: ContrastiveBatch) {
    const widths = this.cfg.model.trunkWidths;
    const ops = new TfjsOps(this.params);
    const feat1 = contrasBranch(ops, 1, fromNCHW(b.in1), widths);
    const feat2 = contrasBranch(ops, 2, fromNCHW(b.in2), widths);
    let teacher: { feat1: tf.Tensor; feat2: tf.Tensor } | undefined;
    if (this.teacher && b.teacherIn1) {
      const tops = new TfjsOps(this.teacher);
      teacher = { feat1: contrasBranch(tops, 1, fromNCHW(b.teacherIn1), widths), feat2: contrasBranch(tops, 2, fromNCHW(b.in2), widths) };
    }
    return { feat1, feat2, teacher };
  }

  loss(b: ContrastiveBatch): StageLoss {
    const l = this.cfg.losses;
    const { feat1, feat2, teacher } = this.features(b);
    const r = contrastiveLoss({ feat1, feat2, coords: b.coords, teacher }, { margin: l.margin, safeRadius: l.safeRadius }, { weight: l.distillWeight, temperature: l.temperature });
    const logs: Record<string, tf.Scalar> = { pos_dist: r.posDist, neg_dist: r.negDist };
    if (r.distill) logs.distill = r.distill;
    return { loss: r.loss, logs };
  }

  async validate(signal?: AbortSignal): Promise<Record<string, number>> {
    let loss = 0;
    let hits = 0;
    let epe = 0;
    let points = 0;
    let used = 0;
    for (const b of this.val) {
      signal?.throwIfAborted();
      tf.tidy(() => {
        const { feat1, feat2 } = this.features(b);
        let r;
        try {
          r = contrastiveLoss({ feat1, feat2, coords: b.coords }, { margin: this.cfg.losses.margin, safeRadius: this.cfg.losses.safeRadius });
        } catch {
          return; // too few correspondences in this draw
        }
        loss += r.loss.dataSync()[0]!;
        used++;
        const t = r.targets[0]!;
        const [, h1, w1, c] = feat1.shape as [number, number, number, number];
        const [, h2, w2] = feat2.shape as [number, number, number, number];
        const rows = (x: tf.Tensor, n: number) => {
          const m = tf.reshape(x, [n, c]);
          return tf.div(m, tf.maximum(tf.norm(m, 'euclidean', 1, true), 1e-12));
        };
        const d1 = tf.gather(rows(feat1, h1 * w1), tf.tensor1d(t.ids, 'int32'));
        const best = tf.argMax(tf.matMul(d1, rows(feat2, h2 * w2), false, true), 1).dataSync();
        for (let i = 0; i < t.ids.length; i++) {
          const y = Math.floor(best[i]! / w2);
          const x = best[i]! % w2;
          const ey = y - t.fmapPos2[2 * i]!;
          const ex = x - t.fmapPos2[2 * i + 1]!;
          if (Math.abs(ey) <= 1 && Math.abs(ex) <= 1) hits++;
          epe += Math.hypot(ey, ex);
        }
        points += t.ids.length;
      });
    }
    // match_accuracy: PCK@1 cell (the nearest reference feature within one feature cell of the truth, Chebyshev);
    // aee_cells: the mean Euclidean error of that nearest feature, in feature cells (1 cell = 4 image pixels).
    return used ? { loss: loss / used, match_accuracy: hits / Math.max(points, 1), aee_cells: epe / Math.max(points, 1), samples: used } : {};
  }

  async exportModel(path: string, step: number): Promise<void> {
    const tensors = new Map<string, TensorToWrite>();
    for (const [k, t] of paramsWithPrefix(this.params, EXTRACTOR_PREFIXES)) tensors.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
    await writeSafetensors(path, tensors, {
      'refsr.stage': this.cfg.stage,
      'refsr.trunk_widths': JSON.stringify(this.cfg.model.trunkWidths),
      [METADATA_KEYS.provenance]: trainingProvenance(this.cfg, step),
    });
  }

  async dispose(): Promise<void> {
    this.params.dispose();
    this.teacher?.dispose();
  }
}
