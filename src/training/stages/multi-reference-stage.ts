// Owns the multi-reference stage: MRefSR's network (models/mref-arch.ts) with the structure of a single-reference
// refsr model, started from that model (every weight but the attention fusion heads carries over by name; the heads
// start seeded), trained on groups of references: synthetic views of one photo and aligned views from other
// photographs of a multi-view scene, each reference unrelated with probability `data.pairs.unrelated`, so the
// attention learns to weigh a good reference up and a bad one down. The frozen half (contrastive extractor,
// reference encoder, matching, pre-offsets) runs per reference on ONNX Runtime through the inference code
// (pipeline/multi-reference.ts referenceInputs), as in
// the restoration stage. Loss: L1. Validation: attention fusion on fixed held-out groups with their own and with
// shuffled references (reference-gain.ts groupGainFigures). The export is a complete multi-reference bundle.

import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, type WeightSource } from '../param-store.ts';
import { TfjsOps, fromNCHW } from '../tfjs-ops.ts';
import { mrefRestorationNet, type MRefConfig, type MRefReference } from '../../models/mref-arch.ts';
import { mrefConfigFromRestoration } from '../../models/mref-spec.ts';
import { describeBundle, METADATA_KEYS, MREF_ARCHITECTURE } from '../../models/model-bundle.ts';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { tileInputs } from '../../pipeline/restore-tiled.ts';
import { referenceInputs } from '../../pipeline/multi-reference.ts';
import type { NamedImage } from '../data/image-folder.ts';
import { syntheticGroup, type GroupSample } from '../data/reference-pairs.ts';
import { multiviewGroup, type Scene } from '../data/pair-sources.ts';
import { l1Loss } from '../losses/pixel.ts';
import { toNCHW } from '../../image/layout.ts';
import { Rng } from '../../random/rng.ts';
import type { WeightMap } from '../../weights/weight-map.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import type { TrainConfig } from '../config.ts';
import type { StageLoss, TrainingStage } from '../train-loop.ts';
import { concatBatch, stepSeed } from './batch.ts';
import { inheritedProvenance } from '../provenance.ts';
import { groupGainFigures } from '../reference-gain.ts';
import type { Network } from '../onnx-engine/train-graph.ts';
import { pairSources, restorationBundle, restorationStart, writeBundle } from './restoration-stage.ts';

type LevelName = 'relu1_1' | 'relu2_1' | 'relu3_1';
type Level = { ref: Float32Tensor; refLocal: Float32Tensor; preOffset: Float32Tensor };

export interface MultiReferenceBatch {
  readonly lr: Float32Tensor;
  readonly gt: Float32Tensor;
  /** Per reference slot, its levels stacked over the batch. */
  readonly refs: readonly Partial<Record<LevelName, Level>>[];
}

export class MultiReferenceStage implements TrainingStage<MultiReferenceBatch> {
  private readonly valSynthetic: GroupSample[];
  private readonly valMultiview: GroupSample[];
  private readonly mref: MRefConfig;
  private readonly levels: readonly LevelName[];

  private constructor(
    private readonly cfg: TrainConfig,
    readonly params: ParamStore,
    private readonly frozen: Map<string, Float32Tensor>,
    private readonly features: RefSRModel,
    private readonly images: NamedImage[],
    valImages: NamedImage[],
    private readonly scenes: { train: Scene[]; val: Scene[] },
    private readonly fromMetadata: Record<string, string>,
  ) {
    this.mref = mrefConfigFromRestoration(cfg.model.restoration);
    this.levels = this.mref.smallAggregation === false ? ['relu2_1', 'relu1_1'] : ['relu3_1', 'relu2_1', 'relu1_1'];
    const count = this.references;
    const rng = new Rng(stepSeed(cfg.seed, -1));
    this.valSynthetic = valImages.length ? Array.from({ length: cfg.data.valSamples }, () => syntheticGroup(valImages, rng, cfg.data.pairs, count)) : [];
    const mvRng = new Rng(stepSeed(cfg.seed, -3));
    const o = { ...cfg.data.pairs, unrelated: 0 };
    this.valMultiview = [];
    for (let i = 0; i < cfg.data.valSamples && scenes.val.length; i++) {
      const g = multiviewGroup(scenes.val, mvRng, o, count);
      if (g) this.valMultiview.push(g);
    }
  }

  private get references(): number { return this.cfg.model.references ?? 3; }

  /** `frozenThreads`: ONNX Runtime threads of the frozen half (the ONNX engine's batch worker passes 1). */
  static async create(cfg: TrainConfig, resume: WeightSource | undefined, opts: { frozenThreads?: number } = {}): Promise<MultiReferenceStage> {
    const { split, frozen, from, params, features } = await restorationStart(cfg, resume, opts.frozenThreads);
    const { scenes, valScenes } = await pairSources(cfg);
    return new MultiReferenceStage(cfg, params, frozen, features, split.train, split.val, { train: scenes, val: valScenes }, from?.metadata ?? {});
  }

  /** One group from the source `data.mix` draws (multi-view when drawn and a scene is aligned, else synthetic views). */
  private group(rng: Rng): GroupSample {
    const mix = this.cfg.data.mix;
    if (mix && rng.uniform() < mix.multiview && this.scenes.train.length) {
      const g = multiviewGroup(this.scenes.train, rng, this.cfg.data.pairs, this.references);
      if (g) return g;
    }
    return syntheticGroup(this.images, rng, this.cfg.data.pairs, this.references);
  }

  async prepare(step: number): Promise<MultiReferenceBatch> {
    const rng = new Rng(stepSeed(this.cfg.seed, step));
    const lrs: Float32Tensor[] = [];
    const gts: Float32Tensor[] = [];
    const perSlot: Record<LevelName, Level>[][] = Array.from({ length: this.references }, () => []);
    for (let b = 0; b < this.cfg.batch; b++) {
      const g = this.group(rng);
      const lr = toNCHW(g.lr);
      lrs.push(lr);
      gts.push(toNCHW(g.gt));
      // As superResolveMulti: the input's features once, then each reference on its own grid, exact matching.
      const inFeat = await this.features.inputFeatures(toNCHW(g.up));
      for (let r = 0; r < g.refs.length; r++) {
        const p = await referenceInputs(this.features, inFeat, g.refs[r]!, { matching: 'exact' });
        perSlot[r]!.push(tileInputs(lr, p.feat, p.flow, 0, 0, g.lr.height, g.lr.width).levels);
      }
    }
    const refs = perSlot.map((items) => {
      const out: Partial<Record<LevelName, Level>> = {};
      for (const l of this.levels) {
        out[l] = { ref: concatBatch(items.map((i) => i[l].ref)), refLocal: concatBatch(items.map((i) => i[l].refLocal)), preOffset: concatBatch(items.map((i) => i[l].preOffset)) };
      }
      return out;
    });
    return { lr: concatBatch(lrs), gt: concatBatch(gts), refs };
  }

  private network<T>(ops: Parameters<typeof mrefRestorationNet<T>>[0], lr: T, refs: readonly Partial<Record<LevelName, { ref: T; refLocal: T; preOffset: T }>>[]): T {
    return mrefRestorationNet(ops, { lr, refs: refs as readonly MRefReference<T>[] }, this.mref).out;
  }

  loss(b: MultiReferenceBatch): StageLoss {
    const ops = new TfjsOps(this.params);
    const refs = b.refs.map((slot) => Object.fromEntries(Object.entries(slot).map(([l, v]) => [l, { ref: fromNCHW(v.ref), refLocal: fromNCHW(v.refLocal), preOffset: fromNCHW(v.preOffset) }])));
    const out = this.network(ops, fromNCHW(b.lr), refs);
    const l1 = l1Loss(out, fromNCHW(b.gt));
    return { loss: tf.mul(this.cfg.losses.l1, l1) as tf.Scalar, logs: { l1 } };
  }

  /** The batch as the ONNX engine's graph inputs (onnx-engine/restoration-step.ts). */
  engineInputs(b: MultiReferenceBatch): Record<string, Float32Tensor> {
    const out: Record<string, Float32Tensor> = { lr: b.lr };
    b.refs.forEach((slot, r) => {
      for (const l of this.levels) {
        out[`ref_${l}_${r}`] = slot[l]!.ref;
        out[`loc_${l}_${r}`] = slot[l]!.refLocal;
        out[`pre_${l}_${r}`] = slot[l]!.preOffset;
      }
    });
    return out;
  }

  engineNetwork(): Network {
    return (ops, ins) => {
      const refs = Array.from({ length: this.references }, (_, r) => Object.fromEntries(this.levels.map((l) => [l, { ref: ins[`ref_${l}_${r}`]!, refLocal: ins[`loc_${l}_${r}`]!, preOffset: ins[`pre_${l}_${r}`]! }])));
      return { out: this.network(ops, ins.lr!, refs) };
    };
  }

  // L1 only: no critic, no extra output terms.
  recordFake(): void {}
  hasOutputTerms(): boolean { return false; }
  outputTerms(): { terms: tf.Tensor[]; logs: Record<string, tf.Scalar> } { return { terms: [], logs: {} }; }

  private bundle(): WeightMap {
    return restorationBundle(this.frozen, this.params, this.metadata(0));
  }

  private metadata(step: number): Record<string, string> {
    const unrelated = this.fromMetadata[METADATA_KEYS.unrelatedScore];
    return {
      [METADATA_KEYS.architecture]: MREF_ARCHITECTURE,
      [METADATA_KEYS.references]: 'multi',
      [METADATA_KEYS.mrefConfig]: JSON.stringify(this.mref),
      [METADATA_KEYS.vggInput]: 'imagenet',
      ...(this.cfg.model.matchReference ? { [METADATA_KEYS.matchReference]: this.cfg.model.matchReference } : {}),
      // Same extractor as the model it starts from: the same "reference looks unrelated" threshold.
      ...(unrelated !== undefined ? { [METADATA_KEYS.unrelatedScore]: unrelated } : {}),
      [METADATA_KEYS.provenance]: inheritedProvenance(this.cfg, step, this.fromMetadata[METADATA_KEYS.provenance]),
    };
  }

  async validate(signal?: AbortSignal): Promise<Record<string, number>> {
    if (this.valSynthetic.length + this.valMultiview.length === 0) return {};
    const weights = this.bundle();
    const model = new RefSRModel(weights, describeBundle(weights, 'validation'), 'validation');
    try {
      return await groupGainFigures(model, this.valSynthetic, this.valMultiview, { signal });
    } finally {
      await model.release();
    }
  }

  async exportModel(path: string, step: number): Promise<void> {
    await writeBundle(path, this.bundle(), this.metadata(step));
  }

  async dispose(): Promise<void> {
    this.params.dispose();
    await this.features.release();
  }
}
