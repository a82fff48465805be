// Owns upscaling a clip of any length and frame size with a Ref-VSR model and one keyframe of any size: the clip
// runs in overlapping temporal windows (temporal-windows.ts) and, for frames larger than a tile, in overlapping
// spatial tiles blended with linear ramps (tiles.ts), so memory is bounded by window x tile whatever the clip. Each
// frame's matching input is its Pillow-bicubic x4 (as `refsr upscale` does; the official test feeds the x4 of the
// ground truth's bicubic /4 instead, see src/eval/vid4.ts), matched on the keyframe's own grid. Frames come out in
// order through `onFrame` as soon as they are final; frames the caller already has are not recomputed when a whole
// window's frames are done (`skip`).

import type { RgbImage } from '../image/rgb-image.ts';
import { toNCHW, fromNCHW } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { featureWindow } from '../tensor/feature-window.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { runRefVsrStepwise } from './refvsr-stepwise.ts';
import { temporalWindows } from './temporal-windows.ts';
import { tileLayout, axisWeights } from './tiles.ts';
import type { RefVsrModel, KeyframeFeatures } from './refvsr-model.ts';
import type { MatchingMode } from './super-resolve.ts';

/** The network's hard minimum (official assert h, w >= 64), also the smallest tile. */
export const MIN_FRAME_SIDE = 64;
export const DEFAULT_VIDEO_WINDOW = 15;
export const DEFAULT_VIDEO_WINDOW_OVERLAP = 4;
/** LR tile side; Vid4 (180x144) and smaller frames run whole. */
export const DEFAULT_VIDEO_TILE = 192;
export const DEFAULT_VIDEO_TILE_OVERLAP = 16;

export class VideoInputError extends Error {
  constructor(message: string) { super(message); this.name = 'VideoInputError'; }
}

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
  readonly tile?: number;
  readonly tileOverlap?: number;
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

/** tileLayout, with tiles widened (inside the frame) to the network's 64 px minimum where the even split is smaller. */
function networkTiles(h: number, w: number, tile: number, overlap: number): ReturnType<typeof tileLayout> {
  const layout = tileLayout(h, w, tile, overlap);
  const fit = (pos: number, len: number, size: number) => (len >= MIN_FRAME_SIDE ? [pos, len] : [Math.min(pos, size - MIN_FRAME_SIDE), MIN_FRAME_SIDE]);
  return {
    overlap: layout.overlap,
    tiles: layout.tiles.map((t) => {
      const [y, th] = fit(t.y, t.h, h) as [number, number];
      const [x, tw] = fit(t.x, t.w, w) as [number, number];
      return { y, x, h: th, w: tw };
    }),
  };
}

export async function upscaleClip(model: RefVsrModel, frames: ClipFrames, keyframe: RgbImage, opts: VideoOptions): Promise<VideoResult> {
  const window = opts.window ?? DEFAULT_VIDEO_WINDOW;
  const windows = temporalWindows(frames.count, window, opts.windowOverlap ?? Math.min(DEFAULT_VIDEO_WINDOW_OVERLAP, window - 1));
  const tile = opts.tile ?? DEFAULT_VIDEO_TILE;
  const tileOverlap = opts.tileOverlap ?? DEFAULT_VIDEO_TILE_OVERLAP;
  if (tile < MIN_FRAME_SIDE) throw new VideoInputError(`--tile ${tile} is below the network's minimum of ${MIN_FRAME_SIDE} LR px`);
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
    const layout = networkTiles(h, w, tile, tileOverlap);
    tiles = layout.tiles.length;
    const emit = async (i: number, out: Float32Tensor) => {
      if (i < win.ownStart || i >= win.ownEnd) return;
      if (opts.skip?.(i)) { skipped++; return; }
      await opts.onFrame(i, fromNCHW(out));
      written++;
      opts.onProgress?.('frames', (written + skipped) / frames.count);
    };
    if (layout.tiles.length === 1) {
      await runRefVsrStepwise(model.weights, model.config, lrTensors, key.relu1_1, winFlows, {
        steps: model.steps, signal, onFrame: (k, out) => emit(win.start + k, out),
      });
    } else {
      // Tiles of the whole window, blended into the owned frames' HR buffers (the recurrence needs every frame of
      // the window per tile, so frames are final only after the last tile).
      const H = 4 * h;
      const W = 4 * w;
      const acc = new Map(own.map((i) => [i, new Float32Array(3 * H * W)]));
      const wsum = new Float32Array(H * W);
      const ramp = 4 * layout.overlap;
      let done = 0;
      for (const tl of layout.tiles) {
        const crops = lrTensors.map((t) => featureWindow(t, tl.y, tl.x, tl.h, tl.w));
        const wy = axisWeights(4 * tl.h, ramp, tl.y > 0, tl.y + tl.h < h);
        const wx = axisWeights(4 * tl.w, ramp, tl.x > 0, tl.x + tl.w < w);
        const th = 4 * tl.h;
        const tw = 4 * tl.w;
        for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) wsum[(4 * tl.y + y) * W + 4 * tl.x + x] += wy[y]! * wx[x]!;
        await runRefVsrStepwise(model.weights, model.config, crops, key.relu1_1, winFlows, {
          steps: model.steps, signal, origin: { y: tl.y, x: tl.x },
          onFrame: (k, out) => {
            const a = acc.get(win.start + k);
            if (!a) return;
            for (let c = 0; c < 3; c++) for (let y = 0; y < th; y++) {
              const row = (c * H + 4 * tl.y + y) * W + 4 * tl.x;
              for (let x = 0; x < tw; x++) a[row + x] += wy[y]! * wx[x]! * out.data[(c * th + y) * tw + x]!;
            }
          },
        });
        opts.onProgress?.('tiles', ++done / layout.tiles.length);
      }
      for (const [i, a] of acc) {
        for (let c = 0; c < 3; c++) for (let p = 0; p < H * W; p++) a[c * H * W + p] /= wsum[p]!;
        await emit(i, { shape: [1, 3, H, W], data: a });
      }
    }
    seconds.network += (performance.now() - t1) / 1000;
  }
  return { frames: frames.count, written, skipped, windows: windows.length, tiles, matching: used, seconds };
}
