// Owns the lower-level library surface (`refsr/core`): a loaded model, the upscale chain on decoded images, the
// paper's test protocol, the Ref-VSR video model and clip upscale, model lookup, image decoding/encoding, Pillow bicubic, metrics and exact matching. The
// task-level API (`refsr`) is built on these.
export { RefSRModel } from './pipeline/refsr-model.ts';
export { upscale, checkUpscaleOptions, checkUpscaleInput, type UpscaleOptions, type UpscaleResult } from './pipeline/upscale.ts';
export type { Stage, MatchingMode, StageTimes } from './pipeline/super-resolve.ts';
export { runProtocol, prepareProtocol } from './pipeline/protocol.ts';
export { resolveModel, bundledModels, MODELS_DIR } from './pipeline/model-registry.ts';
export { readImageFile, decodeImage, type DecodedImage } from './image/decode.ts';
export { writeImage, encodeImage, outputFormatFor, type OutputFormat, type EncodeOptions } from './image/encode.ts';
export { pilResizeBicubic } from './image/pil-bicubic.ts';
export { measure, type Metrics } from './metrics/index.ts';
export { matchExact } from './matching/correspondence.ts';
export { referenceScore, looksUnrelated, UNRELATED_REFERENCE_SCORE } from './matching/reference-score.ts';
export { RefVsrModel } from './pipeline/refvsr-model.ts';
export { upscaleClip, type ClipFrames, type VideoOptions, type VideoResult } from './pipeline/refvsr-video.ts';
export type { RgbImage } from './image/rgb-image.ts';
export * from './errors/index.ts';
