// Owns upscaling a clip of any length and frame size with a Ref-VSR model and one keyframe of any size: the clip
// runs in overlapping temporal windows (temporal-windows.ts); within a window the LR propagation runs on whole
// frames and each frame's x4 reconstruction in spatial windows (refvsr-stepwise.ts, exact), so memory is bounded by
// the window length x the LR frame plus one reconstruction window, whatever the clip. Each
// frame's matching input is its Pillow-bicubic x4 (as `refsr upscale` does; the official test feeds the x4 of the
// ground truth's bicubic /4 instead, see src/eval/vid4.ts), matched on the keyframe's own grid. Frames come out in
// order through `onFrame` as soon as they are final; frames the caller already has are not recomputed when a whole
// window's frames are done (`skip`).

import { RefsrError } from '../errors/refsr-error.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import { toNCHW, fromNCHW } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { runRefVsrStepwise, RECONSTRUCT_MARGIN } from './refvsr-stepwise.ts';
import { temporalWindows } from './temporal-windows.ts';
import type { RefVsrModel, KeyframeFeatures } from './refvsr-model.ts';
import type { MatchingMode } from './super-resolve.ts';

/** The network's hard minimum (official assert h, w >= 64), also the smallest tile. */
export const MIN_FRAME_SIDE = 64;
// Window and tile defaults (video-defaults.ts). DEFAULT_VIDEO_TILE is the LR side of the reconstruction windows (plus
// a 4 px margin each side): the x4 reconstruction, where the memory goes, runs in windows of this size; the
// propagation always runs on whole frames. Exact up to float rounding.
import { DEFAULT_VIDEO_WINDOW, DEFAULT_VIDEO_WINDOW_OVERLAP, DEFAULT_VIDEO_TILE } from './video-defaults.ts';
export { DEFAULT_VIDEO_WINDOW, DEFAULT_VIDEO_WINDOW_OVERLAP, DEFAULT_VIDEO_TILE };
export const MIN_TILE = 16;

export class VideoInputError extends RefsrError {}

export interface ClipFrames {
  readonly count: number;
  /** Frame i (0-based) of the LR clip; called in increasing order of windows, each frame at most twice. */
  read(i: number): Promise<RgbImage>;
  /** A name for frame i in messages (its file). */
  name(i: number): string;
}

export interface VideoOptions {
  readonly window?: number;
  readonly windowOverlap?: number;
  /** Reconstruction window side in LR px (default DEFAULT_VIDEO_TILE). */
  readonly tile?: number;
  readonly matching?: MatchingMode;
  readonly signal?: AbortSignal;
  /** Frames already done (e.g. in the output folder): a window whose own frames are all done is skipped. */
  readonly skip?: (i: number) => boolean;
  /** Each finished frame, in order (frames of skipped windows are not emitted). */
  readonly onFrame: (i: number, sr: RgbImage) => Promise<void>;
  readonly onProgress?: (stage: string, fraction: number) => void;
  /** The matching input of frame i (default: Pillow bicubic x4 of the LR frame). */
  readonly matchingInput?: (i: number, lr: RgbImage) => Promise<RgbImage> | RgbImage;
}

export interface VideoResult {
  readonly frames: number;
  readonly written: number;
  readonly skipped: number;
  readonly windows: number;
  readonly tiles: number;
  readonly matching: 'exact' | 'fast' | 'none';
  readonly seconds: { matching: number; network: number };
}

/** Checks the clip's frames all have frame 0's size and the network's minimum. */
function checkFrame(frames: ClipFrames, i: number, img: RgbImage, first: RgbImage): void {
  if (img.width !== first.width || img.height !== first.height) {
    throw new VideoInputError(`${frames.name(i)} is ${img.width}x${img.height} but the clip's first frame ${frames.name(0)} is ${first.width}x${first.height}: every frame of a clip must have the same size (resize or crop them to one size)`);
  }
  if (img.width < MIN_FRAME_SIDE || img.height < MIN_FRAME_SIDE) {
    throw new VideoInputError(`${frames.name(i)} is ${img.width}x${img.height}: the Ref-VSR network needs LR frames of at least ${MIN_FRAME_SIDE}x${MIN_FRAME_SIDE} px`);
  }
}

export async function upscaleClip(model: RefVsrModel, frames: ClipFrames, keyframe: RgbImage, opts: VideoOptions): Promise<VideoResult> {
  const window = opts.window ?? DEFAULT_VIDEO_WINDOW;
  const windows = temporalWindows(frames.count, window, opts.windowOverlap ?? Math.min(DEFAULT_VIDEO_WINDOW_OVERLAP, window - 1));
  const tile = opts.tile ?? DEFAULT_VIDEO_TILE;
  if (!(tile >= MIN_TILE)) throw new VideoInputError(`--tile ${tile} is below ${MIN_TILE} LR px`);
  const signal = opts.signal;
  const seconds = { matching: 0, network: 0 };
  let key: KeyframeFeatures | undefined;
  let first: RgbImage | undefined;
  let used: 'exact' | 'fast' | 'none' = 'none';
  let written = 0;
  let skipped = 0;
  let tiles = 0;
  const flows = new Map<number, Float32Tensor>();

  for (const win of windows) {
    signal?.throwIfAborted();
    const own = Array.from({ length: win.ownEnd - win.ownStart }, (_, k) => win.ownStart + k);
    if (opts.skip && own.every((i) => opts.skip!(i))) {
      skipped += own.length;
      continue;
    }
    // LR frames of the window, checked; the matching flow of each (kept for the next window's overlap).
    const lrs: RgbImage[] = [];
    for (let i = win.start; i < win.end; i++) {
      const img = await frames.read(i);
      first ??= i === 0 ? img : await frames.read(0);
      checkFrame(frames, i, img, first);
      lrs.push(img);
    }
    const t0 = performance.now();
    key ??= await model.keyframeFeatures(toNCHW(keyframe), signal);
    for (const k of [...flows.keys()]) if (k < win.start) flows.delete(k);
    for (let i = win.start; i < win.end; i++) {
      if (flows.has(i)) continue;
      signal?.throwIfAborted();
      const lr = lrs[i - win.start]!;
      const up = opts.matchingInput ? await opts.matchingInput(i, lr) : pilResizeBicubic(lr, lr.width * 4, lr.height * 4);
      const m = await model.frameFlow(toNCHW(up), key, opts.matching ?? 'auto', signal);
      if (used !== 'fast') used = m.mode;
      flows.set(i, m.flow);
      opts.onProgress?.('matching', (i + 1) / frames.count);
    }
    await model.releaseMatchingGraphs(); // their arenas would otherwise stay beside the network's
    seconds.matching += (performance.now() - t0) / 1000;

    const t1 = performance.now();
    const lrTensors = lrs.map(toNCHW);
    const winFlows = lrs.map((_, k) => flows.get(win.start + k)!);
    const { width: w, height: h } = lrs[0]!;
    const spans = (n: number) => (n <= tile + 2 * RECONSTRUCT_MARGIN ? 1 : Math.ceil(n / tile));
    tiles = spans(h) * spans(w);
    const emit = async (i: number, out: Float32Tensor) => {
      if (i < win.ownStart || i >= win.ownEnd) return;
      if (opts.skip?.(i)) { skipped++; return; }
      await opts.onFrame(i, fromNCHW(out));
      written++;
      opts.onProgress?.('frames', (written + skipped) / frames.count);
    };
    await runRefVsrStepwise(model.weights, model.config, lrTensors, key.relu1_1, winFlows, {
      steps: model.steps, signal, reconstructTile: tile, onFrame: (k, out) => emit(win.start + k, out),
    });
    seconds.network += (performance.now() - t1) / 1000;
  }
  return { frames: frames.count, written, skipped, windows: windows.length, tiles, matching: used, seconds };
}
