// Owns the metric set reported for a super-resolved image against its ground truth (the official validation's
// PSNR, PSNR-Y and SSIM-Y with a 4 px border by default).

import type { RgbImage } from '../image/rgb-image.ts';
import { psnr, psnrRgb, lumaSamples } from './psnr.ts';
import { ssim } from './ssim.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export { psnr, psnrRgb, psnrY } from './psnr.ts';
export { ssim, ssimY } from './ssim.ts';
export { rgbToY } from './ycbcr.ts';

export interface Metrics {
  readonly psnrRgb: number;
  readonly psnrY: number;
  readonly ssimY: number;
}

export class MetricSizeError extends RefsrError {
  constructor(message: string) {
    super(message);
    this.name = 'MetricSizeError';
  }
}

export function measure(sr: RgbImage, hr: RgbImage, crop = 4): Metrics {
  if (sr.width !== hr.width || sr.height !== hr.height) {
    throw new MetricSizeError(`cannot compare a ${sr.width}x${sr.height} result with a ${hr.width}x${hr.height} ground truth: sizes differ`);
  }
  const ySr = lumaSamples(sr);
  const yHr = lumaSamples(hr);
  return { psnrRgb: psnrRgb(sr, hr, crop), psnrY: psnr(ySr, yHr, crop), ssimY: ssim(ySr, yHr, crop) };
}
