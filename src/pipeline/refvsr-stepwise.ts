// Owns running the Ref-VSR network frame by frame on ONNX Runtime, the way a long clip must run: one small graph per
// step kind (SPyNet on a frame pair, LR features, a backward / forward propagation step, one frame's
// reconstruction), each built once for the clip's frame size and reused for every frame. Same computation as the
// whole-clip graph of refvsr-clip.ts (a test holds them together); the host keeps only what the official forward
// keeps (the LR features and backward features of every frame), so graph memory does not grow with the clip.

import { OnnxOps, type Sym } from '../graph/onnx-ops.ts';
import { OrtGraph, type SessionOptions } from '../graph/ort-session.ts';
import { SessionCache } from '../graph/session-cache.ts';
import { spynetFlow } from '../models/spynet-arch.ts';
import { lrFeatures, propagateStep, reconstructFrame, isMirrorExtended, REFVSR_SPYNET_PREFIX, type RefVsrConfig } from '../models/refvsr-arch.ts';
import { preOffsetOfficial, toDcnLayout, dcnPreOffsetWindow } from '../matching/pre-offset.ts';
import { featureWindow } from '../tensor/feature-window.ts';
import type { WeightMap } from '../weights/weight-map.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

type Build = (ops: OnnxOps, ins: Record<string, Sym>) => Sym;

export interface StepwiseOptions extends SessionOptions {
  /** Called with each frame's output as soon as it exists (frames come in order 0..t-1). */
  readonly onFrame?: (index: number, out: Float32Tensor) => void | Promise<void>;
  /**
   * Where these LR frames sit in the whole frame (a spatial tile), in LR pixels; `flows` are then the whole frame's
   * matching flows [1, H, W, 2] and the keyframe's relu1_1 may have any size: each frame's pre-offsets are the
   * tile's window of the whole map (re-expressed for the tile origin) and the offset branch sees the keyframe's
   * relu1_1 cropped / zero-padded to the tile's HR window, as the image path does (restore-tiled.ts). Without it,
   * with the keyframe at the HR frame size, this is the official computation.
   */
  readonly origin?: { readonly y: number; readonly x: number };
  /**
   * Run each frame's reconstruction (the x4 part, where memory goes: 64-channel maps at the HR size) in windows of
   * this many LR px plus a RECONSTRUCT_MARGIN on each side, keeping only their interiors. The propagation still runs
   * on whole frames, and the margin is wider than the reconstruction's receptive field (12 HR px without the DCN's
   * reference sampling, which sees the whole keyframe), so the frame equals the unwindowed one up to float rounding.
   */
  readonly reconstructTile?: number;
  /** Checked between steps. */
  readonly signal?: AbortSignal;
  /** Step graphs to reuse (and not release); by default built for this call and released at its end. */
  readonly steps?: RefVsrSteps;
}

/** The step graphs of one model, built once per input shapes and kept (LRU) across clips, windows and tiles. */
export class RefVsrSteps {
  private readonly sessions = new SessionCache(10);
  constructor(private readonly weights: WeightMap, private readonly opts: SessionOptions) {}

  /** Runs the one-output graph `kind` (built on first use for these input shapes). */
  async run(kind: string, inputs: Record<string, Float32Tensor>, build: Build): Promise<Float32Tensor> {
    const key = `${kind}:${Object.entries(inputs).map(([k, v]) => `${k}=${v.shape.join('x')}`).join(',')}`;
    const out = await this.sessions.use(key, () => {
      const ops = new OnnxOps(this.weights.lookup);
      const syms: Record<string, Sym> = {};
      for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
      ops.output(build(ops, syms), 'y');
      return OrtGraph.create(ops.encode(), this.opts);
    }, (g) => g.run(inputs));
    return out.y!;
  }

  release(): Promise<void> { return this.sessions.release(); }
}

/** LR px added on each side of a reconstruction window (4 LR = 16 HR px > its 12 HR px receptive field). */
export const RECONSTRUCT_MARGIN = 4;

/** Spans of one axis: windows of one length (one session serves them), interiors tiling the axis. */
function windowSpans(size: number, tile: number): { start: number; keep: number; windowStart: number; length: number }[] {
  const length = Math.min(size, tile + 2 * RECONSTRUCT_MARGIN);
  if (length === size) return [{ start: 0, keep: size, windowStart: 0, length }];
  const out = [];
  for (let start = 0; start < size; start += tile) {
    const keep = Math.min(tile, size - start);
    out.push({ start, keep, windowStart: Math.max(0, Math.min(start - RECONSTRUCT_MARGIN, size - length)), length });
  }
  return out;
}

/** One frame's reconstruction [1, 3, 4h, 4w] assembled from windows (run(y, x, h, w) on LR coordinates). */
async function reconstructInWindows(h: number, w: number, tile: number, run: (y: number, x: number, wh: number, ww: number) => Promise<Float32Tensor>): Promise<Float32Tensor> {
  const H = 4 * h;
  const W = 4 * w;
  const out = new Float32Array(3 * H * W);
  for (const sy of windowSpans(h, tile)) for (const sx of windowSpans(w, tile)) {
    const r = await run(sy.windowStart, sx.windowStart, sy.length, sx.length);
    const th = 4 * sy.length;
    const tw = 4 * sx.length;
    const oy = 4 * (sy.start - sy.windowStart);
    const ox = 4 * (sx.start - sx.windowStart);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 4 * sy.keep; y++) {
      const src = (c * th + oy + y) * tw + ox;
      out.set(r.data.subarray(src, src + 4 * sx.keep), (c * H + 4 * sy.start + y) * W + 4 * sx.start);
    }
  }
  return { shape: [1, 3, H, W], data: out };
}

/** The network's outputs [1, 3, 4h, 4w] per frame, given the matching flows (as runRefVsrNetwork). */
export async function runRefVsrStepwise(weights: WeightMap, cfg: RefVsrConfig, lrs: readonly Float32Tensor[], refRelu1_1: Float32Tensor, flows: readonly Float32Tensor[], opts: StepwiseOptions = {}): Promise<Float32Tensor[]> {
  const t = lrs.length;
  const [, , h, w] = lrs[0]!.shape as [number, number, number, number];
  if (h < 64 || w < 64) throw new Error(`the Ref-VSR network needs LR frames of at least 64x64 (got ${w}x${h})`);
  const origin = opts.origin ?? { y: 0, x: 0 };
  const [, fh, fw] = flows[0]!.shape as [number, number, number, number];
  const [, , rh, rw] = refRelu1_1.shape as [number, number, number, number];
  // The official computation when this is the whole frame and the keyframe has the HR frame size.
  const official = origin.y === 0 && origin.x === 0 && fh === h && fw === w && rh === 4 * h && rw === 4 * w;
  const steps = opts.steps ?? new RefVsrSteps(weights, opts);
  try {
    const spynet = (a: Float32Tensor, b: Float32Tensor) => steps.run('spynet', { a, b }, (ops, s) => spynetFlow(ops, s.a!, s.b!, REFVSR_SPYNET_PREFIX));
    const mirror = isMirrorExtended(lrs);
    const lrFeats: Float32Tensor[] = [];
    for (const lr of lrs) {
      opts.signal?.throwIfAborted();
      lrFeats.push(await steps.run('lr_feat', { lr }, (ops, s) => lrFeatures(ops, cfg, s.lr!)));
    }

    const featsBackward: Float32Tensor[] = new Array(t);
    const flowsBackward: Float32Tensor[] = new Array(t - 1);
    for (let i = t - 1; i >= 0; i--) {
      opts.signal?.throwIfAborted();
      if (i === t - 1) {
        featsBackward[i] = await steps.run('backward_first', { f: lrFeats[i]! }, (ops, s) => propagateStep(ops, cfg, 'backward', s.f!));
        continue;
      }
      flowsBackward[i] = await spynet(lrs[i]!, lrs[i + 1]!);
      featsBackward[i] = await steps.run('backward', { f: lrFeats[i]!, prev: featsBackward[i + 1]!, flow: flowsBackward[i]! },
        (ops, s) => propagateStep(ops, cfg, 'backward', s.f!, { feat: s.prev!, flow: s.flow! }));
    }

    const outs: Float32Tensor[] = [];
    let featForward: Float32Tensor | undefined;
    for (let i = 0; i < t; i++) {
      if (i === 0) {
        featForward = await steps.run('forward_first', { f: lrFeats[i]! }, (ops, s) => propagateStep(ops, cfg, 'forward', s.f!));
      } else {
        // Mirror-extended clips reuse the backward flow of the mirrored pair, as the official forward does.
        const flow = mirror ? flowsBackward[t - 1 - i]! : await spynet(lrs[i]!, lrs[i - 1]!);
        featForward = await steps.run('forward', { f: lrFeats[i]!, prev: featForward!, flow },
          (ops, s) => propagateStep(ops, cfg, 'forward', s.f!, { feat: s.prev!, flow: s.flow! }));
      }
      opts.signal?.throwIfAborted();
      const window = (y: number, x: number, wh: number, ww: number) => steps.run('reconstruct_window', {
        lr: featureWindow(lrs[i]!, y, x, wh, ww), lrFeat: featureWindow(lrFeats[i]!, y, x, wh, ww), fb: featureWindow(featsBackward[i]!, y, x, wh, ww),
        ff: featureWindow(featForward!, y, x, wh, ww), ref: refRelu1_1,
        refLocal: featureWindow(refRelu1_1, 4 * (origin.y + y), 4 * (origin.x + x), 4 * wh, 4 * ww),
        pre: dcnPreOffsetWindow(flows[i]!, 4, 4 * (origin.y + y), 4 * (origin.x + x), 4 * wh, 4 * ww),
      }, (ops, s) => reconstructFrame(ops, cfg, { lr: s.lr!, lrFeat: s.lrFeat!, featBackward: s.fb!, featForward: s.ff!, refRelu1_1: s.ref!, refLocal: s.refLocal!, preOffset: s.pre! }).out);
      const tile = opts.reconstructTile;
      const out = tile && (h > tile || w > tile)
        ? await reconstructInWindows(h, w, tile, window)
        : official
          ? await steps.run('reconstruct', { lr: lrs[i]!, lrFeat: lrFeats[i]!, fb: featsBackward[i]!, ff: featForward, ref: refRelu1_1, pre: toDcnLayout(preOffsetOfficial(flows[i]!, 4)) },
            (ops, s) => reconstructFrame(ops, cfg, { lr: s.lr!, lrFeat: s.lrFeat!, featBackward: s.fb!, featForward: s.ff!, refRelu1_1: s.ref!, preOffset: s.pre! }).out)
          : await window(0, 0, h, w);
      outs.push(out);
      await opts.onFrame?.(i, out);
    }
    return outs;
  } finally {
    if (!opts.steps) await steps.release();
  }
}
