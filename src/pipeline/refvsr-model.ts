// Owns a loaded Ref-VSR (video) model and the per-frame work around its network: reading the bundle (refusing image
// models with a clear message), the keyframe's matching features and VGG19 relu1_1, each frame's C2 matching flow
// against the keyframe (exact or coarse-to-fine), and the step graphs of the network (refvsr-stepwise.ts), all kept
// across the windows and tiles of a clip.

import { readSafetensors, WeightFileError } from '../weights/safetensors.ts';
import { WeightMap } from '../weights/weight-map.ts';
import { ModelFileError, METADATA_KEYS } from '../models/model-bundle.ts';
import { REFVSR_ARCHITECTURE, REFVSR_CONFIG_KEY, numBlocksOf, refVsrConfigOf } from '../models/refvsr-bundle.ts';
import { refVsrExtractor, refVsrKeyframeRelu1_1, type RefVsrConfig } from '../models/refvsr-arch.ts';
import { OnnxOps } from '../graph/onnx-ops.ts';
import { OrtGraph, type SessionOptions } from '../graph/ort-session.ts';
import { SessionCache } from '../graph/session-cache.ts';
import { extractInWindows } from './feature-tiles.ts';
import { matchRows } from '../matching/correspondence.ts';
import { matchCoarseToFine, EXACT_PAIR_LIMIT } from '../matching/coarse-to-fine.ts';
import { flowFromIndex } from '../matching/pre-offset.ts';
import { RefVsrSteps } from './refvsr-stepwise.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import type { MatchingMode } from './super-resolve.ts';

export interface KeyframeFeatures {
  /** Contrastive branch 2, [1, 256, H/4, W/4]. */
  readonly contras: Float32Tensor;
  /** VGG19 relu1_1, [1, 64, H, W]. */
  readonly relu1_1: Float32Tensor;
}

export class RefVsrModel {
  readonly steps: RefVsrSteps;
  private readonly graphs = new SessionCache(4);

  constructor(readonly weights: WeightMap, readonly config: RefVsrConfig, readonly source: string, readonly opts: SessionOptions = {}) {
    this.steps = new RefVsrSteps(weights, opts);
  }

  /** Loads a Ref-VSR bundle (`refsr convert` of the official checkpoint); an image model is refused by name. */
  static async load(path: string, opts: SessionOptions = {}): Promise<RefVsrModel> {
    let file;
    try {
      file = await readSafetensors(path);
    } catch (e) {
      if (e instanceof WeightFileError) throw e;
      throw new ModelFileError(`${path}: cannot read the model file (${(e as Error).message})`);
    }
    const arch = file.metadata[METADATA_KEYS.architecture];
    const weights = new WeightMap(file.tensors, file.metadata);
    const numBlocks = numBlocksOf(weights.keys());
    if (arch !== REFVSR_ARCHITECTURE && numBlocks === 0) {
      throw new ModelFileError(`${path} is an image model (${arch ?? 'no refsr.architecture'}), not a Ref-VSR video model: \`refsr video\` needs one (import the official C2-Matching Ref-VSR checkpoint with \`refsr convert REFVSR.pth -o refvsr.safetensors\`); use \`refsr upscale\` for this model`);
    }
    let config: RefVsrConfig;
    try {
      config = refVsrConfigOf(file.metadata[REFVSR_CONFIG_KEY], weights.keys());
    } catch (e) {
      throw new ModelFileError(`${path}: its ${REFVSR_CONFIG_KEY} metadata is not valid JSON (${(e as Error).message}); re-export the model`);
    }
    return new RefVsrModel(weights, config, path, opts);
  }

  get threads(): number | undefined { return this.opts.threads; }

  private async runOne(kind: string, input: Float32Tensor, build: (ops: OnnxOps, x: ReturnType<OnnxOps['input']>) => Record<string, ReturnType<OnnxOps['input']>>): Promise<Record<string, Float32Tensor>> {
    return this.graphs.use(`${kind}:${input.shape.join('x')}`, () => {
      const ops = new OnnxOps(this.weights.lookup);
      for (const [k, v] of Object.entries(build(ops, ops.input('x', input.shape)))) ops.output(v, k);
      return OrtGraph.create(ops.encode(), this.opts);
    }, (g) => g.run({ x: input }));
  }

  /** The keyframe [1, 3, H, W] (H, W multiples of 4): its matching features and relu1_1, in windows when large. */
  async keyframeFeatures(keyframe: Float32Tensor, signal?: AbortSignal): Promise<KeyframeFeatures> {
    const o = await extractInWindows(keyframe, { contras: 4, relu1_1: 1 },
      (win) => this.runOne('keyframe', win, (ops, x) => ({ contras: refVsrExtractor(ops, 2, x), relu1_1: refVsrKeyframeRelu1_1(ops, x) })), { signal });
    return { contras: o.contras!, relu1_1: o.relu1_1! };
  }

  /**
   * The matching flow [1, h, w, 2] of one frame's matching input `up` [1, 3, 4h, 4w] against the keyframe, decoded
   * on the keyframe's own grid. `auto` is exact up to EXACT_PAIR_LIMIT patch pairs, coarse-to-fine beyond.
   */
  async frameFlow(up: Float32Tensor, key: KeyframeFeatures, mode: MatchingMode = 'exact', signal?: AbortSignal): Promise<{ flow: Float32Tensor; mode: 'exact' | 'fast' }> {
    const feat = (await extractInWindows(up, { feat: 4 }, (win) => this.runOne('frame', win, (ops, x) => ({ feat: refVsrExtractor(ops, 1, x) })), { signal })).feat!;
    const pairs = (feat.shape[2]! - 2) * (feat.shape[3]! - 2) * (key.contras.shape[2]! - 2) * (key.contras.shape[3]! - 2);
    const used = mode === 'fast' || (mode === 'auto' && pairs > EXACT_PAIR_LIMIT) ? 'fast' : 'exact';
    const opts = { threads: this.threads, signal };
    const m = used === 'fast' ? await matchCoarseToFine(feat, key.contras, opts) : await matchRows(feat, key.contras, opts);
    return { flow: flowFromIndex(m), mode: used };
  }

  /** Frees the extractor sessions (and their memory arenas) between windows; they are rebuilt when needed. */
  releaseMatchingGraphs(): Promise<void> { return this.graphs.release(); }

  async release(): Promise<void> {
    await this.steps.release();
    await this.graphs.release();
  }
}
