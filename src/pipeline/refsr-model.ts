// Owns a loaded refsr model ready to run: the weights of the three networks, their description, and the ONNX
// Runtime sessions built from the shared network definitions (a bounded cache per input shape, since graphs are static).
// The restoration network is C2-Matching's (one reference, `restore`) or MRefSR's (any number, `restoreMulti`).

import { OnnxOps, type Sym } from '../graph/onnx-ops.ts';
import { OrtGraph, type SessionOptions } from '../graph/ort-session.ts';
import { SessionCache } from '../graph/session-cache.ts';
import { contrasBranch } from '../models/contras-extractor.ts';
import { vgg19Features } from '../models/vgg-features.ts';
import { restorationNet } from '../models/restoration-net.ts';
import { mrefRestorationNet } from '../models/mref-arch.ts';
import { describeBundle, VGG_PREFIX, type BundleInfo } from '../models/model-bundle.ts';
import { readWeightFile } from '../weights/read-weight-file.ts';
import type { WeightMap } from '../weights/weight-map.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { extractInWindows } from './feature-tiles.ts';

export interface ReferenceFeatures {
  /** Contrastive features (branch 2), [1, 256, H/4, W/4]. */
  readonly contras: Float32Tensor;
  readonly relu1_1: Float32Tensor;
  readonly relu2_1: Float32Tensor;
  readonly relu3_1: Float32Tensor;
}

export interface RestorationTileInputs {
  readonly lr: Float32Tensor;
  readonly levels: Record<'relu1_1' | 'relu2_1' | 'relu3_1', { ref: Float32Tensor; refLocal: Float32Tensor; preOffset: Float32Tensor }>;
}

/** One LR tile with every reference's levels, for the multi-reference network (one entry per reference). */
export interface MultiRestorationTileInputs {
  readonly lr: Float32Tensor;
  readonly refs: readonly RestorationTileInputs['levels'][];
}

export type DeformConvLowering = 'auto' | 'gridsample' | 'deformconv';

export interface RuntimeOptions extends SessionOptions {
  readonly deformConv?: DeformConvLowering;
}

export class RefSRModel {
  private readonly sessions = new SessionCache();

  readonly threads: number | undefined;

  constructor(readonly weights: WeightMap, readonly info: BundleInfo, readonly source: string, private readonly runtime: RuntimeOptions = {}) {
    this.threads = runtime.threads;
  }

  static async load(path: string, opts: RuntimeOptions = {}): Promise<RefSRModel> {
    const weights = await readWeightFile(path);
    return new RefSRModel(weights, describeBundle(weights, path), path, opts);
  }

  private run(key: string, build: (ops: OnnxOps) => void, feeds: Record<string, Float32Tensor>): Promise<Record<string, Float32Tensor>> {
    return this.sessions.use(key, () => {
      const ops = new OnnxOps(this.weights.lookup, { deformConv: this.runtime.deformConv ?? 'auto' });
      build(ops);
      return OrtGraph.create(ops.encode(), { threads: this.threads, lowMemory: this.runtime.lowMemory });
    }, (g) => g.run(feeds));
  }

  /** Contrastive branch 1 on the bicubic-upsampled input [1, 3, H, W] -> [1, 256, H/4, W/4]. */
  async inputFeatures(up: Float32Tensor, signal?: AbortSignal): Promise<Float32Tensor> {
    const o = await extractInWindows(up, { feat: 4 }, async (win) => {
      return this.run(`in:${win.shape}`, (ops) => ops.output(contrasBranch(ops, 1, ops.input('up', win.shape), this.info.restoration.trunkWidths), 'feat'), { up: win });
    }, { signal });
    return o.feat!;
  }

  /**
   * The reference encoder's relu1_1/2_1/3_1 of `ref` and contrastive branch 2, the matching features, of
   * `matchView` (another view of the same reference, see matching/reference-view.ts; default: `ref` itself, in the
   * same graph run).
   */
  async referenceFeatures(ref: Float32Tensor, signal?: AbortSignal, matchView?: Float32Tensor): Promise<ReferenceFeatures> {
    const widths = this.info.restoration.trunkWidths;
    const withContras = matchView === undefined;
    const scales: Record<string, 1 | 2 | 4> = { relu1_1: 1, relu2_1: 2, relu3_1: 4, ...(withContras ? { contras: 4 } : {}) };
    const o = await extractInWindows(ref, scales, async (win) => {
      return this.run(`ref${withContras ? '+contras' : ''}:${win.shape}`, (ops) => {
        const x = ops.input('ref', win.shape);
        if (withContras) ops.output(contrasBranch(ops, 2, x, widths), 'contras');
        const v = vgg19Features(ops, VGG_PREFIX, x, this.info.vggInput, widths);
        ops.output(v.relu1_1, 'relu1_1');
        ops.output(v.relu2_1, 'relu2_1');
        ops.output(v.relu3_1, 'relu3_1');
      }, { ref: win });
    }, { signal });
    let contras = o.contras;
    if (!contras) {
      signal?.throwIfAborted();
      const m = await extractInWindows(matchView!, { contras: 4 }, async (win) => {
        return this.run(`refmatch:${win.shape}`, (ops) => ops.output(contrasBranch(ops, 2, ops.input('ref', win.shape), widths), 'contras'), { ref: win });
      }, { signal });
      contras = m.contras!;
    }
    return { contras, relu1_1: o.relu1_1!, relu2_1: o.relu2_1!, relu3_1: o.relu3_1! };
  }

  /**
   * Features for reference retrieval (pipeline/reference-retrieval.ts): conv3_1 (before its ReLU) of the reference
   * encoder (`vgg.*`) on a small view [1, 3, S, S] -> [1, C, S/4, S/4]. For models whose encoder is ImageNet VGG19
   * this is the same function as the VGG-start contrastive branch (precision@3 0.852 by appearance alone on the multi-view album, against
   * 0.778 with the default model's trained student branch, bench/retrieval.ts); for v1, whose encoder is its
   * contrastive branch 2, it is that branch.
   */
  async sceneFeatures(img: Float32Tensor): Promise<Float32Tensor> {
    const widths = this.info.restoration.trunkWidths;
    const o = await this.run(`scene:${img.shape}`, (ops) => ops.output(vgg19Features(ops, VGG_PREFIX, ops.input('img', img.shape), this.info.vggInput, widths).conv3_1, 'feat'), { img });
    return o.feat!;
  }

  /** RestorationNet on one LR tile; returns the SR tile [1, 3, 4h, 4w] (unclamped). */
  async restore(t: RestorationTileInputs): Promise<Float32Tensor> {
    if (this.info.mref) throw new Error(`${this.source} is a multi-reference model: use restoreMulti`);
    const feeds: Record<string, Float32Tensor> = { lr: t.lr };
    const levels = this.info.restoration.smallAggregation ? (['relu3_1', 'relu2_1', 'relu1_1'] as const) : (['relu2_1', 'relu1_1'] as const);
    for (const l of levels) {
      feeds[`ref_${l}`] = t.levels[l].ref;
      feeds[`local_${l}`] = t.levels[l].refLocal;
      feeds[`pre_${l}`] = t.levels[l].preOffset;
    }
    const key = `restore:${Object.entries(feeds).map(([k, v]) => `${k}=${v.shape}`).join(';')}`;
    const out = await this.run(key, (ops) => {
      const s: Record<string, Sym> = {};
      for (const [k, v] of Object.entries(feeds)) s[k] = ops.input(k, v.shape);
      const level = (l: string) => ({ ref: s[`ref_${l}`]!, refLocal: s[`local_${l}`]!, preOffset: s[`pre_${l}`]! });
      const r = restorationNet(ops, { lr: s.lr!, relu3_1: this.info.restoration.smallAggregation ? level('relu3_1') : undefined, relu2_1: level('relu2_1'), relu1_1: level('relu1_1') }, this.info.restoration);
      ops.output(r.out, 'out');
    }, feeds);
    return out.out!;
  }

  /** MRefSR's multi-reference network on one LR tile, all references at once; the SR tile [1, 3, 4h, 4w] (unclamped). */
  async restoreMulti(t: MultiRestorationTileInputs): Promise<Float32Tensor> {
    const cfg = this.info.mref;
    if (!cfg) throw new Error(`${this.source} is a single-reference model: use restore`);
    const feeds: Record<string, Float32Tensor> = { lr: t.lr };
    const small = cfg.smallAggregation !== false;
    const used = small ? (['relu3_1', 'relu2_1', 'relu1_1'] as const) : (['relu2_1', 'relu1_1'] as const);
    t.refs.forEach((levels, r) => {
      for (const l of used) {
        feeds[`ref_${l}_${r}`] = levels[l].ref;
        feeds[`local_${l}_${r}`] = levels[l].refLocal;
        feeds[`pre_${l}_${r}`] = levels[l].preOffset;
      }
    });
    const key = `restore-multi:${Object.entries(feeds).map(([k, v]) => `${k}=${v.shape}`).join(';')}`;
    const out = await this.run(key, (ops) => {
      const s: Record<string, Sym> = {};
      for (const [k, v] of Object.entries(feeds)) s[k] = ops.input(k, v.shape);
      const refs = t.refs.map((_, r) => {
        const level = (l: string) => ({ ref: s[`ref_${l}_${r}`]!, refLocal: s[`local_${l}_${r}`]!, preOffset: s[`pre_${l}_${r}`]! });
        return { relu3_1: small ? level('relu3_1') : undefined, relu2_1: level('relu2_1'), relu1_1: level('relu1_1') };
      });
      ops.output(mrefRestorationNet(ops, { lr: s.lr!, refs }, cfg).out, 'out');
    }, feeds);
    return out.out!;
  }

  async release(): Promise<void> {
    await this.sessions.release();
  }
}
