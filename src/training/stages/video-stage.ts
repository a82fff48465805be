// Owns the video stage: C2-Matching's Ref-VSR network (models/refvsr-arch.ts, any mid width and block count) trained
// on clips synthesised from still photos (data/video-clips.ts: smooth camera paths, keyframe = frame 0's HR or, with
// probability `data.clip.unrelated`, an unrelated photo). The matching side is frozen and runs in `prepare` on ONNX
// Runtime through the inference code (pipeline/refvsr-model.ts: the contrastive extractor of `init.extractor`, the
// keyframe's VGG19 relu1_1 from its reference encoder, exact matching on the honest view: Pillow bicubic x4 of each
// LR frame). Trained: SPyNet and the whole network. SPyNet has no pretrained weights here, so it learns from the
// camera path's exact flows as well as from the SR loss: the loss is L1 over the clip's frames plus `losses.flow` x
// L1 of the flow error (both directions, upsampled to the frame grid so one L1 head covers both; the flow part's
// target is 0). Validation: the whole `refsr video` pipeline on fixed held-out clips, Y-PSNR gain over bicubic with
// the clip's own keyframe and with another clip's (frame 0 excluded, as Vid4). The export is a Ref-VSR bundle.

import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from '../../graph/ops.ts';
import { ParamStore, type WeightSource } from '../param-store.ts';
import { TfjsOps, fromNCHW } from '../tfjs-ops.ts';
import { refVsrForward, REFVSR_EXTRACTOR_PREFIX, type RefVsrConfig } from '../../models/refvsr-arch.ts';
import { REFVSR_ARCHITECTURE, REFVSR_CLASS, REFVSR_CONFIG_KEY, refVsrConfigJson, refVsrSpec } from '../../models/refvsr-bundle.ts';
import { METADATA_KEYS, VGG_PREFIX } from '../../models/model-bundle.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../models/vgg-features.ts';
import { RefVsrModel } from '../../pipeline/refvsr-model.ts';
import { upscaleClip } from '../../pipeline/refvsr-video.ts';
import { preOffsetOfficial, toDcnLayout } from '../../matching/pre-offset.ts';
import { bicubicX4, scoreFrames } from '../../eval/vid4.ts';
import { holdOut, loadImageFolders, type NamedImage } from '../data/image-folder.ts';
import { syntheticClip, type ClipOptions, type ClipSample } from '../data/video-clips.ts';
import { l1Loss } from '../losses/pixel.ts';
import { toNCHW } from '../../image/layout.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { Rng } from '../../random/rng.ts';
import { readWeightFile } from '../../weights/read-weight-file.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import type { TrainConfig } from '../config.ts';
import type { StageLoss, TrainingStage } from '../train-loop.ts';
import { concatBatch, stepSeed } from './batch.ts';
import { provenanceFields } from '../provenance.ts';
import { VGG19_CREDIT } from '../../models/vgg-init.ts';
import type { Network } from '../onnx-engine/train-graph.ts';
import { writeBundle } from './restoration-stage.ts';

export interface VideoBatch {
  /** Per frame, [B, 3, h, w]. */
  readonly lrs: Float32Tensor[];
  /** [B, 64, 4h, 4w]. */
  readonly refRelu1_1: Float32Tensor;
  /** Per frame, [B, 18, 4h, 4w]. */
  readonly preOffsets: Float32Tensor[];
  /** Per flow, [B, 2, h, w]: backward flows then forward flows. */
  readonly flows: Float32Tensor[];
  /** The L1 target of the network's concatenated head: every frame's HR, then zeros for the flow errors. */
  readonly gt: Float32Tensor;
}

/** The frozen matching side of a bundle: `net_extractor.*` and `net_map.vgg` (relu1_1) under the official names. */
export function frozenMatchingWeights(extractor: WeightMap): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const k of extractor.keys()) if (k.startsWith('feature_extraction_image')) out.set(REFVSR_EXTRACTOR_PREFIX + k, extractor.get(k)!);
  const w = extractor.get(`${VGG_PREFIX}conv1_1.weight`) ?? extractor.get('feature_extraction_image2.model.conv1_1.weight');
  const b = extractor.get(`${VGG_PREFIX}conv1_1.bias`) ?? extractor.get('feature_extraction_image2.model.conv1_1.bias');
  if (!w || !b) throw new Error('init.extractor has no reference encoder conv1_1 (vgg.conv1_1.*) for the keyframe relu1_1');
  out.set('net_map.vgg.vgg_net.conv1_1.weight', w);
  out.set('net_map.vgg.vgg_net.conv1_1.bias', b);
  out.set('net_map.vgg.mean', { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_MEAN) });
  out.set('net_map.vgg.std', { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_STD) });
  return out;
}

const FROZEN_PREFIXES = [REFVSR_EXTRACTOR_PREFIX, 'net_map.'];

export class VideoStage implements TrainingStage<VideoBatch> {
  private readonly valClips: ClipSample[];

  private constructor(
    private readonly cfg: TrainConfig,
    readonly params: ParamStore,
    private readonly frozen: Map<string, Float32Tensor>,
    private readonly matcher: RefVsrModel,
    private readonly images: NamedImage[],
    valImages: NamedImage[],
  ) {
    const rng = new Rng(stepSeed(cfg.seed, -1));
    // Held-out clips at the inference minimum (64 LR px), own keyframes only (the shuffled keyframe is another clip's).
    const o: ClipOptions = { ...this.clip, lrPatch: Math.max(64, this.clip.lrPatch), unrelated: 0 };
    this.valClips = valImages.length ? Array.from({ length: cfg.data.valSamples }, (_, i) => syntheticClip([valImages[i % valImages.length]!], rng, o)) : [];
  }

  private get clip(): ClipOptions { return this.cfg.data.clip!; }
  private get net(): RefVsrConfig { return this.cfg.model.video!; }

  static async create(cfg: TrainConfig, resume: WeightSource | undefined, opts: { frozenThreads?: number } = {}): Promise<VideoStage> {
    // Training clips need 4 lrPatch (+ room to move); validation clips run at the inference minimum of 64 LR px.
    const c = cfg.data.clip!;
    const all = await loadImageFolders(cfg.data.train, 4 * c.lrPatch + 8);
    const split = cfg.data.val.length ? { train: all, val: await loadImageFolders(cfg.data.val, 1) } : holdOut(all, cfg.data.holdOutEvery);
    const valSide = 4 * Math.max(64, c.lrPatch) + 8;
    const val = split.val.filter((p) => Math.min(p.image.width, p.image.height) >= valSide);
    const frozen = frozenMatchingWeights(await readWeightFile(cfg.init.extractor!));
    const from = cfg.init.from ? await readWeightFile(cfg.init.from) : undefined;
    const source: WeightSource = (name) => resume?.(name) ?? from?.get(name);
    const params = new ParamStore({ source, init: { seed: cfg.seed, std: cfg.init.std, zero: cfg.init.zero } });
    const matcher = new RefVsrModel(WeightMap.fromTensors(frozen), cfg.model.video!, cfg.init.extractor!, { threads: opts.frozenThreads });
    return new VideoStage(cfg, params, frozen, matcher, split.train, val);
  }

  /** Every trainable parameter from the network's key list (a tfjs forward of a whole clip needs GBs). */
  createParams(): void {
    for (const [k, shape] of refVsrSpec(this.net)) if (!FROZEN_PREFIXES.some((p) => k.startsWith(p))) this.params.variable(k, shape);
  }

  async prepare(step: number): Promise<VideoBatch> {
    const rng = new Rng(stepSeed(this.cfg.seed, step));
    const clips: ClipSample[] = [];
    const rels: Float32Tensor[] = [];
    const pres: Float32Tensor[][] = [];
    for (let b = 0; b < this.cfg.batch; b++) {
      const c = syntheticClip(this.images, rng, this.clip);
      clips.push(c);
      const key = await this.matcher.keyframeFeatures(toNCHW(c.keyframe));
      rels.push(key.relu1_1);
      const p: Float32Tensor[] = [];
      for (const up of c.ups) p.push(toDcnLayout(preOffsetOfficial((await this.matcher.frameFlow(toNCHW(up), key, 'exact')).flow, 4)));
      pres.push(p);
    }
    const t = this.clip.frames;
    const frames = (f: (c: ClipSample, i: number) => Float32Tensor, n: number) => Array.from({ length: n }, (_, i) => concatBatch(clips.map((c) => f(c, i))));
    const gts = frames((c, i) => toNCHW(c.gts[i]!), t);
    // The flow errors' target: zeros, 2 channels per flow at the frame grid.
    const [bsz, , hh, ww] = gts[0]!.shape as [number, number, number, number];
    const flowChannels = 2 * 2 * (t - 1);
    const gt = concatChannels([...gts, { shape: [bsz, flowChannels, hh, ww], data: new Float32Array(bsz * flowChannels * hh * ww) }]);
    return {
      lrs: frames((c, i) => toNCHW(c.lrs[i]!), t),
      refRelu1_1: concatBatch(rels),
      preOffsets: Array.from({ length: t }, (_, i) => concatBatch(pres.map((p) => p[i]!))),
      flows: [...frames((c, i) => c.flowsBackward[i]!, t - 1), ...frames((c, i) => c.flowsForward[i]!, t - 1)],
      gt,
    };
  }

  /** The network's single head: every frame's output, then flow_weight x (predicted - true flow) upsampled x4. */
  private network<T>(o: Ops<T>, lrs: T[], refRelu1_1: T, preOffsets: T[], flows: T[]): T {
    const r = refVsrForward(o, this.net, { lrs, refRelu1_1, preOffsets, minSide: 16 });
    const t = lrs.length;
    const weight = o.constant('flow_weight', [], Float32Array.of(this.cfg.losses.flow ?? 0));
    const errors = [...r.flowsBackward, ...r.flowsForward].map((f, i) => o.upsampleBilinear(o.mul(o.sub(f, flows[i]!), weight), 4));
    if (errors.length !== 2 * (t - 1)) throw new Error('video stage: a clip with mirrored frames has no forward flows');
    return o.concat([...r.out, ...errors], 1);
  }

  loss(b: VideoBatch): StageLoss {
    const ops = new TfjsOps(this.params);
    const out = this.network(ops, b.lrs.map(fromNCHW), fromNCHW(b.refRelu1_1), b.preOffsets.map(fromNCHW), b.flows.map(fromNCHW));
    const l1 = l1Loss(out, fromNCHW(b.gt));
    return { loss: tf.mul(this.cfg.losses.l1, l1) as tf.Scalar, logs: { l1 } };
  }

  engineInputs(b: VideoBatch): Record<string, Float32Tensor> {
    const out: Record<string, Float32Tensor> = { ref_relu1_1: b.refRelu1_1 };
    b.lrs.forEach((v, i) => { out[`lr_${i}`] = v; });
    b.preOffsets.forEach((v, i) => { out[`pre_${i}`] = v; });
    b.flows.forEach((v, i) => { out[`flow_${i}`] = v; });
    return out;
  }

  engineNetwork(): Network {
    const t = this.clip.frames;
    return (ops, ins) => ({
      out: this.network(ops, Array.from({ length: t }, (_, i) => ins[`lr_${i}`]!), ins.ref_relu1_1!,
        Array.from({ length: t }, (_, i) => ins[`pre_${i}`]!), Array.from({ length: 2 * (t - 1) }, (_, i) => ins[`flow_${i}`]!)),
    });
  }

  // L1 only: no critic, no extra output terms.
  recordFake(): void {}
  hasOutputTerms(): boolean { return false; }
  outputTerms(): { terms: tf.Tensor[]; logs: Record<string, tf.Scalar> } { return { terms: [], logs: {} }; }

  private bundle(step: number): WeightMap {
    const all = new Map(this.frozen);
    for (const [k, t] of this.params.snapshot()) if (!FROZEN_PREFIXES.some((p) => k.startsWith(p))) all.set(k, t);
    return WeightMap.fromTensors(all, this.metadata(step));
  }

  private metadata(step: number): Record<string, string> {
    const p = provenanceFields(this.cfg, step);
    p.derivedFrom = `${VGG19_CREDIT}: the keyframe encoder (conv1_1) and, through the contrastive extractor taken from ${String(p.extractor)}, the matching features`;
    return {
      [METADATA_KEYS.architecture]: REFVSR_ARCHITECTURE,
      'refsr.class': REFVSR_CLASS,
      [REFVSR_CONFIG_KEY]: refVsrConfigJson(this.net),
      [METADATA_KEYS.provenance]: JSON.stringify(p),
    };
  }

  async validate(signal?: AbortSignal): Promise<Record<string, number>> {
    const n = this.valClips.length;
    if (n === 0) return {};
    const model = new RefVsrModel(this.bundle(0), this.net, 'validation');
    const offset = Math.max(1, n >> 1);
    const own: number[] = [];
    const shuffled: number[] = [];
    let sr = 0;
    let bicubic = 0;
    try {
      for (let i = 0; i < n; i++) {
        signal?.throwIfAborted();
        const c = this.valClips[i]!;
        const base = scoreFrames(c.lrs.map(bicubicX4), c.gts).psnrY;
        const run = async (keyframe: RgbImage) => {
          const srs: RgbImage[] = [];
          await upscaleClip(model, { count: c.lrs.length, read: async (k) => c.lrs[k]!, name: (k) => `validation clip ${i} frame ${k}` }, keyframe, {
            window: c.lrs.length, windowOverlap: 0, matching: 'exact', signal, onFrame: async (k, img) => { srs[k] = img; },
          });
          return scoreFrames(srs, c.gts).psnrY;
        };
        const a = await run(c.keyframe);
        const b = await run(this.valClips[(i + offset) % n]!.keyframe);
        own.push(a - base);
        shuffled.push(b - base);
        sr += a;
        bicubic += base;
      }
    } finally {
      await model.release();
    }
    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    return { psnr_y: sr / n, bicubic_psnr_y: bicubic / n, gain_db: mean(own), shuffled_gain_db: mean(shuffled), ref_gain_db: mean(own) - mean(shuffled), samples: n };
  }

  async exportModel(path: string, step: number): Promise<void> {
    const w = this.bundle(step);
    await writeBundle(path, w, this.metadata(step));
  }

  async dispose(): Promise<void> {
    this.params.dispose();
    await this.matcher.release();
  }
}

/** [N, c_k, h, w] tensors concatenated along the channels. */
function concatChannels(items: readonly Float32Tensor[]): Float32Tensor {
  const [n, , h, w] = items[0]!.shape as [number, number, number, number];
  const c = items.reduce((s, t) => s + t.shape[1]!, 0);
  const data = new Float32Array(n * c * h * w);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    let off = b * c * plane;
    for (const t of items) {
      const ct = t.shape[1]!;
      data.set(t.data.subarray(b * ct * plane, (b + 1) * ct * plane), off);
      off += ct * plane;
    }
  }
  return { shape: [n, c, h, w], data };
}
