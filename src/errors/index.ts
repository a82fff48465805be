// Owns the list of every error class the library throws on purpose, all subclasses of RefsrError (training's own
// errors are exported by `refsr/train`, which also re-exports these).
export { RefsrError } from './refsr-error.ts';
export { ImageInputError } from '../image/image-input-error.ts';
export { ImageArgumentError } from '../api/image-input.ts';
export { UpscalerStateError } from '../api/upscaler.ts';
export { UpscaleInputError, UpscaleOptionError } from '../pipeline/upscale.ts';
export { ModelNotFoundError } from '../pipeline/model-registry.ts';
export { ModelFileError } from '../models/model-bundle.ts';
export { MRefConfigError } from '../models/mref-spec.ts';
export { ConvertError } from '../models/import-official.ts';
export { MissingWeightError } from '../graph/onnx-ops.ts';
export { WeightFileError } from '../weights/safetensors.ts';
export { OutputWriteError } from '../io/atomic-write.ts';
export { MetricSizeError } from '../metrics/index.ts';
export { DatasetError } from '../eval/datasets.ts';
export { MatchInputError } from '../eval/match-pair.ts';
export { AlbumError } from '../pipeline/reference-retrieval.ts';
export { VideoInputError } from '../pipeline/refvsr-video.ts';
export { VideoFileError } from '../video/ffmpeg.ts';
export { CancelledError } from '../cli/cancellation.ts';
export { UsageError, BatchIncompleteError } from '../cli/cli-errors.ts';
export { TrainingDependencyError } from '../training/peer-dependencies.ts';
