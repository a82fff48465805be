// Owns the paper's test-time protocol (official RefCUFEDDataset test branch + RefRestorationModel.test): mod-crop HR
// and reference to multiples of 4, zero-pad both bottom/right to their common size, LR = PIL bicubic /4 of the
// padded HR, input-up = PIL bicubic x4 of that LR, run the network, round/clamp, crop back to the mod-cropped HR.

import type { RgbImage } from '../image/rgb-image.ts';
import { crop, fromNCHW, modCrop, padBottomRight } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { superResolve, type SuperResolveOptions, type SuperResolveResult } from './super-resolve.ts';
import type { RefSRModel } from './refsr-model.ts';

export interface ProtocolInputs {
  /** Mod-cropped, unpadded ground truth. */
  readonly gt: RgbImage;
  readonly lr: RgbImage;
  readonly up: RgbImage;
  readonly ref: RgbImage;
}

export function prepareProtocol(hr: RgbImage, ref: RgbImage): ProtocolInputs {
  const gt = modCrop(hr, 4);
  const refCropped = modCrop(ref, 4);
  const h = Math.max(gt.height, refCropped.height);
  const w = Math.max(gt.width, refCropped.width);
  const paddedHr = padBottomRight(gt, h, w);
  const lr = pilResizeBicubic(paddedHr, w / 4, h / 4);
  const up = pilResizeBicubic(lr, w, h);
  return { gt, lr, up, ref: padBottomRight(refCropped, h, w) };
}

export interface ProtocolResult extends SuperResolveResult {
  readonly inputs: ProtocolInputs;
  /** Final uint8 SR, cropped to the ground truth's size. */
  readonly srImage: RgbImage;
}

export async function runProtocol(model: RefSRModel, hr: RgbImage, ref: RgbImage, opts: SuperResolveOptions = {}): Promise<ProtocolResult> {
  const inputs = prepareProtocol(hr, ref);
  // The paper's protocol is the exact search unless the caller asks otherwise.
  const r = await superResolve(model, inputs.lr, inputs.up, inputs.ref, { ...opts, matching: opts.matching ?? 'exact' });
  const full = fromNCHW(r.sr);
  return { ...r, inputs, srImage: crop(full, 0, 0, inputs.gt.width, inputs.gt.height) };
}
