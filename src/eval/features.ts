// Owns the feature maps used for correspondence analysis outside the restoration chain: the contrastive extractor's
// two branches (C2-Matching's matching features) and plain VGG19 relu3_1 (the SRNTT-style matching baseline), each
// as its own small ONNX graph built from the shared network definitions, in a bounded cache per input shape. The
// VGG weights come from the model bundle (`vgg.*`) or from a separate file (torchvision .pth, conv-named
// safetensors or the MatConvNet relu3_1 export), with that file's input convention.

import { OnnxOps } from '../graph/onnx-ops.ts';
import { OrtGraph } from '../graph/ort-session.ts';
import { SessionCache } from '../graph/session-cache.ts';
import { contrasBranch, type ContrasBranch } from '../models/contras-extractor.ts';
import { vgg19Features, trunkWidthsOf, type VggInputNorm } from '../models/vgg-features.ts';
import { VGG_PREFIX } from '../models/model-bundle.ts';
import { vggFromCheckpoint } from '../models/import-official.ts';
import { readTensorFile } from '../weights/read-weight-file.ts';
import { WeightFileError } from '../weights/safetensors.ts';
import { WeightMap } from '../weights/weight-map.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

export class FeatureExtractor {
  private readonly sessions = new SessionCache();

  /**
   * @param weights  a weight map holding `feature_extraction_image{1,2}.*` and/or `vgg.conv*`
   * @param vggInput input convention of the `vgg.*` weights
   */
  constructor(private readonly weights: WeightMap, readonly vggInput: VggInputNorm = 'imagenet', private readonly threads?: number) {}

  /** The VGG19 relu3_1 extractor of a separate weight file (any format `refsr convert --vgg` accepts). */
  static async vggFromFile(path: string, opts: { threads?: number; vggInput?: VggInputNorm } = {}): Promise<FeatureExtractor> {
    const f = await readTensorFile(path);
    const vgg = vggFromCheckpoint(f.tensors);
    for (const k of ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1']) {
      if (!vgg.has(`${VGG_PREFIX}${k}.weight`)) throw new WeightFileError(path, `no VGG19 ${k} weights found (expected torchvision features.N.*, convN_M.* or vgg.convN_M.* keys)`);
    }
    const norm = opts.vggInput ?? (f.metadata['refsr.vgg_input'] as VggInputNorm | undefined) ?? 'imagenet';
    return new FeatureExtractor(WeightMap.fromTensors(vgg), norm, opts.threads);
  }

  private run(key: string, img: Float32Tensor, build: (ops: OnnxOps, x: ReturnType<OnnxOps['input']>) => ReturnType<OnnxOps['input']>): Promise<Float32Tensor> {
    return this.sessions.use(`${key}:${img.shape}`, () => {
      const ops = new OnnxOps(this.weights.lookup);
      ops.output(build(ops, ops.input('img', img.shape)), 'feat');
      return OrtGraph.create(ops.encode(), { threads: this.threads });
    }, (g) => g.run({ img })).then((o) => o.feat!);
  }

  /** Contrastive features [1, C (256 for VGG widths), H/4, W/4] of a [1, 3, H, W] image in [0, 1]: branch 1 = input side, 2 = reference side. */
  contras(branch: ContrasBranch, img: Float32Tensor): Promise<Float32Tensor> {
    const widths = trunkWidthsOf((k) => this.weights.get(k)?.shape, `feature_extraction_image${branch}.model.`);
    return this.run(`contras${branch}`, img, (ops, x) => contrasBranch(ops, branch, x, widths));
  }

  /** VGG19 relu3_1 [1, 256, H/4, W/4] of a [1, 3, H, W] image in [0, 1]. */
  vggRelu3(img: Float32Tensor): Promise<Float32Tensor> {
    const widths = trunkWidthsOf((k) => this.weights.get(k)?.shape, VGG_PREFIX);
    return this.run('vgg', img, (ops, x) => vgg19Features(ops, VGG_PREFIX, x, this.vggInput, widths).relu3_1);
  }

  async release(): Promise<void> {
    await this.sessions.release();
  }
}
