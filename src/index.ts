// Owns the public library surface of refsr (`import ... from 'refsr'`): the task-level upscaler, the image types it
// accepts, image reading/writing, the bundled models, and every error class (one base, RefsrError). Lower-level
// pieces are in `refsr/core`, evaluation in `refsr/eval`, training in `refsr/train`.
export { createUpscaler, type Upscaler, type UpscalerOptions, type UpscaleCallOptions, type UpscaleOutput, type UpscaleProgress } from './api/upscaler.ts';
export type { ImageInput, ImageSource } from './api/image-input.ts';
export { bundledModels } from './pipeline/model-registry.ts';
export { readImageFile, decodeImage } from './image/decode.ts';
export { writeImage, encodeImage, type OutputFormat, type EncodeOptions } from './image/encode.ts';
export type { RgbImage } from './image/rgb-image.ts';
export * from './errors/index.ts';
