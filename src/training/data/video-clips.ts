// Owns the training clips of the video stage, synthesised from still photos: a smooth camera path over one photo
// (constant per-frame translation, zoom and rotation, drawn per clip), each frame an HR view of the photo sampled
// along the path (bilinear, as cv2.warpPerspective), its LR = MATLAB bicubic /4 (BasicVSR's BI, as the Vid4
// protocol), its matching input = Pillow bicubic x4 of the LR (what `refsr video` and Vid4 protocol (b) match on),
// the keyframe = frame 0's HR (or, with probability `unrelated`, a view of another photo), and the exact optical flow
// between neighbouring LR frames that the camera path implies, in SPyNet's convention (flows_backward[i] = flow from
// frame i to frame i+1: the position in frame i+1 of each LR pixel of frame i, minus its own position), which
// supervises SPyNet, since no pretrained flow weights exist here.

import type { RgbImage } from '../../image/rgb-image.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { degradeBI } from '../../eval/vid4.ts';
import { Rng } from '../../random/rng.ts';
import { warpPerspective, type Mat3 } from './homography.ts';
import type { NamedImage } from './image-folder.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

export interface ClipOptions {
  /** Frames per clip (>= 2). */
  readonly frames: number;
  /** LR side of the square frames. */
  readonly lrPatch: number;
  /** Largest camera translation per frame, in HR pixels. */
  readonly shift: number;
  /** Largest zoom per frame: the scale changes by a factor in [1 / (1 + zoom), 1 + zoom] per frame. */
  readonly zoom: number;
  /** Largest rotation per frame, degrees. */
  readonly rotation: number;
  /** Probability that the keyframe is a view of another photo (teaches the gates to ignore a bad keyframe). */
  readonly unrelated: number;
}

export const DEFAULT_CLIP_OPTIONS: ClipOptions = { frames: 5, lrPatch: 32, shift: 6, zoom: 0.02, rotation: 0.5, unrelated: 0.2 };

export interface ClipSample {
  /** HR frames (the ground truth), 4 lrPatch square. */
  readonly gts: RgbImage[];
  readonly lrs: RgbImage[];
  /** The matching inputs: Pillow bicubic x4 of each LR frame. */
  readonly ups: RgbImage[];
  readonly keyframe: RgbImage;
  readonly keyframeRelated: boolean;
  /** flows_backward[i]: [1, 2, h, w] (x, y) in LR px, frame i -> frame i+1. */
  readonly flowsBackward: Float32Tensor[];
  /** flows_forward[i]: [1, 2, h, w], frame i+1 -> frame i. */
  readonly flowsForward: Float32Tensor[];
}

/** Frame t of a path: sample position in the photo of HR frame pixel p is c + A (p - m). */
interface Pose { readonly cx: number; readonly cy: number; readonly a: number; readonly b: number }

function between(rng: Rng, lo: number, hi: number): number { return lo + (hi - lo) * rng.uniform(); }

/** The smooth camera path of a clip; undefined when no drawn path stays inside the photo. */
function drawPath(photo: RgbImage, rng: Rng, o: ClipOptions): Pose[] | undefined {
  const side = 4 * o.lrPatch;
  const m = (side - 1) / 2;
  for (let attempt = 0; attempt < 20; attempt++) {
    const shrink = attempt < 10 ? 1 : 0.5;
    const speed = between(rng, 0, o.shift) * shrink;
    const dir = between(rng, 0, 2 * Math.PI);
    const vx = speed * Math.cos(dir);
    const vy = speed * Math.sin(dir);
    const zoom = Math.exp(between(rng, -1, 1) * Math.log(1 + o.zoom * shrink));
    const spin = (between(rng, -o.rotation, o.rotation) * shrink * Math.PI) / 180;
    const s0 = between(rng, 0.9, 1.1);
    const th0 = (between(rng, -2, 2) * Math.PI) / 180;
    const poses: Pose[] = [];
    // Centre the path's middle frame at a random point, then check every frame's corners fall inside the photo.
    const mid = (o.frames - 1) / 2;
    const cx0 = between(rng, 0, photo.width);
    const cy0 = between(rng, 0, photo.height);
    for (let t = 0; t < o.frames; t++) {
      const s = s0 * zoom ** (t - mid);
      const th = th0 + spin * (t - mid);
      poses.push({ cx: cx0 + vx * (t - mid), cy: cy0 + vy * (t - mid), a: s * Math.cos(th), b: s * Math.sin(th) });
    }
    const inside = poses.every((q) => [[-m, -m], [m, -m], [-m, m], [m, m]].every(([u, v]) => {
      const x = q.cx + q.a * u! - q.b * v!;
      const y = q.cy + q.b * u! + q.a * v!;
      return x >= 0 && y >= 0 && x <= photo.width - 2 && y <= photo.height - 2;
    }));
    if (inside) return poses;
  }
  return undefined;
}

function frameAt(src: { width: number; height: number; channels: number; data: Float32Array }, q: Pose, side: number): RgbImage {
  const m = (side - 1) / 2;
  const M: Mat3 = Float64Array.from([q.a, -q.b, q.cx - q.a * m + q.b * m, q.b, q.a, q.cy - q.b * m - q.a * m, 0, 0, 1]);
  const w = warpPerspective(src, M, side, side);
  const data = new Uint8Array(w.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(w.data[i]!)));
  return { width: side, height: side, data };
}

/**
 * Flow from frame `from` to frame `to` on the LR grid: LR pixel (x, y) has its centre at HR 4x + 1.5; its photo
 * position under `from` maps back through `to`'s pose.
 */
function poseFlow(from: Pose, to: Pose, lrSide: number, side: number): Float32Tensor {
  const m = (side - 1) / 2;
  const n = lrSide * lrSide;
  const data = new Float32Array(2 * n);
  const det = to.a * to.a + to.b * to.b;
  for (let y = 0; y < lrSide; y++) for (let x = 0; x < lrSide; x++) {
    const u = 4 * x + 1.5 - m;
    const v = 4 * y + 1.5 - m;
    const px = from.cx + from.a * u - from.b * v - to.cx;
    const py = from.cy + from.b * u + from.a * v - to.cy;
    // Inverse of [[a, -b], [b, a]] is [[a, b], [-b, a]] / (a^2 + b^2).
    const u2 = (to.a * px + to.b * py) / det;
    const v2 = (-to.b * px + to.a * py) / det;
    data[y * lrSide + x] = (u2 + m - 1.5) / 4 - x;
    data[n + y * lrSide + x] = (v2 + m - 1.5) / 4 - y;
  }
  return { shape: [1, 2, lrSide, lrSide], data };
}

/** A training clip from a random photo of `images` (each at least 4 lrPatch + a margin on its shorter side). */
export function syntheticClip(images: readonly NamedImage[], rng: Rng, o: ClipOptions): ClipSample {
  const side = 4 * o.lrPatch;
  for (let tries = 0; ; tries++) {
    const photo = images[rng.int(images.length)]!.image;
    const path = drawPath(photo, rng, o);
    if (!path) {
      if (tries > 50) throw new Error(`no camera path of ${o.frames} frames of ${side} px fits the training photos`);
      continue;
    }
    const src = { width: photo.width, height: photo.height, channels: 3, data: Float32Array.from(photo.data) };
    const gts = path.map((q) => frameAt(src, q, side));
    const lrs = gts.map(degradeBI);
    const ups = lrs.map((lr) => pilResizeBicubic(lr, side, side));
    let keyframe = gts[0]!;
    let keyframeRelated = true;
    if (o.unrelated > 0 && images.length > 1 && rng.uniform() < o.unrelated) {
      const other = images[rng.int(images.length)]!.image;
      const q = drawPath(other, rng, { ...o, frames: 1 });
      if (q && other !== photo) {
        keyframe = frameAt({ width: other.width, height: other.height, channels: 3, data: Float32Array.from(other.data) }, q[0]!, side);
        keyframeRelated = false;
      }
    }
    const flowsBackward = path.slice(0, -1).map((q, i) => poseFlow(q, path[i + 1]!, o.lrPatch, side));
    const flowsForward = path.slice(0, -1).map((q, i) => poseFlow(path[i + 1]!, q, o.lrPatch, side));
    return { gts, lrs, ups, keyframe, keyframeRelated, flowsBackward, flowsForward };
  }
}
