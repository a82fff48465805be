// Owns the controlled reference transformations of the robustness study (C2-Matching section 5.4 / Fig. 6): an image
// scaled or rotated to serve as its own reference, together with the exact forward map from input pixel coordinates
// to reference pixel coordinates (the ground-truth correspondence). Coordinates are continuous with pixel centres at
// integers (pixel i covers [i - 0.5, i + 0.5]).
//
// - scale s: the reference is Pillow bicubic resize to round(s W) x round(s H) (antialiased, as the protocol's own
//   resizes); Pillow maps output centre x' to input (x' + 0.5) W / W' - 0.5, so the forward map is
//   x' = (x + 0.5) W' / W - 0.5 (per axis).
// - rotation by theta degrees (counter-clockwise on screen) about the image centre onto a canvas grown to hold the
//   whole rotated image (sides rounded up to a multiple of 4), outside filled black; every reference pixel q samples
//   the input at the inverse map R(-theta)(q - c_ref) + c_in with Keys bicubic (a = -0.5), so the forward map is
//   q = R(theta)(p - c_in) + c_ref.

import { rgbImage, type RgbImage } from '../image/rgb-image.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';

export type TransformKind = 'identity' | 'scale' | 'rotation';

export interface Transformed {
  readonly kind: TransformKind;
  /** Scale factor or angle in degrees (0 for identity). */
  readonly param: number;
  readonly image: RgbImage;
  /** Input pixel coordinates -> reference pixel coordinates. */
  readonly map: (x: number, y: number) => [number, number];
}

export function identityTransform(img: RgbImage): Transformed {
  return { kind: 'identity', param: 0, image: rgbImage(img.width, img.height, img.data.slice()), map: (x, y) => [x, y] };
}

export function scaleTransform(img: RgbImage, s: number): Transformed {
  if (!(s > 0)) throw new Error(`scale factor must be positive, got ${s}`);
  const w = Math.max(1, Math.round(img.width * s));
  const h = Math.max(1, Math.round(img.height * s));
  const sx = w / img.width;
  const sy = h / img.height;
  return { kind: 'scale', param: s, image: pilResizeBicubic(img, w, h), map: (x, y) => [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5] };
}

function cubic(t: number): number {
  const a = -0.5;
  t = Math.abs(t);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Bicubic sample of `img` at (x, y) (edge pixels replicated), written to out[o..o+2]. */
function sampleBicubic(img: RgbImage, x: number, y: number, out: Uint8Array, o: number): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const wx = [cubic(x - (x0 - 1)), cubic(x - x0), cubic(x - (x0 + 1)), cubic(x - (x0 + 2))];
  const wy = [cubic(y - (y0 - 1)), cubic(y - y0), cubic(y - (y0 + 1)), cubic(y - (y0 + 2))];
  let r = 0;
  let g = 0;
  let b = 0;
  for (let j = 0; j < 4; j++) {
    const yy = Math.min(img.height - 1, Math.max(0, y0 - 1 + j));
    for (let i = 0; i < 4; i++) {
      const xx = Math.min(img.width - 1, Math.max(0, x0 - 1 + i));
      const w = wx[i]! * wy[j]!;
      const s = (yy * img.width + xx) * 3;
      r += w * img.data[s]!;
      g += w * img.data[s + 1]!;
      b += w * img.data[s + 2]!;
    }
  }
  out[o] = Math.min(255, Math.max(0, Math.round(r)));
  out[o + 1] = Math.min(255, Math.max(0, Math.round(g)));
  out[o + 2] = Math.min(255, Math.max(0, Math.round(b)));
}

export function rotationTransform(img: RgbImage, degrees: number): Transformed {
  const t = (degrees * Math.PI) / 180;
  // Screen coordinates have y down: a counter-clockwise rotation on screen is x' = x cos + y sin, y' = -x sin + y cos.
  const c = Math.cos(t);
  const s = Math.sin(t);
  const bw = Math.abs(img.width * c) + Math.abs(img.height * s);
  const bh = Math.abs(img.width * s) + Math.abs(img.height * c);
  const W = Math.ceil(bw / 4 - 1e-9) * 4;
  const H = Math.ceil(bh / 4 - 1e-9) * 4;
  const cin = [(img.width - 1) / 2, (img.height - 1) / 2] as const;
  const cref = [(W - 1) / 2, (H - 1) / 2] as const;
  const out = rgbImage(W, H);
  for (let qy = 0; qy < H; qy++) {
    for (let qx = 0; qx < W; qx++) {
      const dx = qx - cref[0];
      const dy = qy - cref[1];
      const px = c * dx - s * dy + cin[0];
      const py = s * dx + c * dy + cin[1];
      if (px < -0.5 || py < -0.5 || px > img.width - 0.5 || py > img.height - 0.5) continue;
      sampleBicubic(img, px, py, out.data, (qy * W + qx) * 3);
    }
  }
  return {
    kind: 'rotation', param: degrees, image: out,
    map: (x, y) => {
      const dx = x - cin[0];
      const dy = y - cin[1];
      return [c * dx + s * dy + cref[0], -s * dx + c * dy + cref[1]];
    },
  };
}
