// Owns the public library surface of refsr: load a model, upscale with references, evaluate, read/write images.
export { RefSRModel } from './pipeline/refsr-model.ts';
export { upscale, type UpscaleOptions, type UpscaleResult } from './pipeline/upscale.ts';
export { runProtocol, prepareProtocol } from './pipeline/protocol.ts';
export { resolveModel, bundledModels } from './pipeline/model-registry.ts';
export { readImageFile, decodeImage, ImageInputError } from './image/decode.ts';
export { writeImage } from './image/encode.ts';
export { pilResizeBicubic } from './image/pil-bicubic.ts';
export { measure, type Metrics } from './metrics/index.ts';
export { matchExact } from './matching/correspondence.ts';
export type { RgbImage } from './image/rgb-image.ts';
export { RefVsrModel } from './pipeline/refvsr-model.ts';
export { upscaleClip, type ClipFrames, type VideoOptions, type VideoResult } from './pipeline/refvsr-video.ts';
export { evaluateVid4, type VideoEvalReport } from './eval/vid4.ts';
