// Owns finding a model: the `model` option as a path (any weight file) or a NAME (a bundled model in the package's
// models/ folder). No model is ever fetched from the network.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RefsrError } from '../errors/refsr-error.ts';

export const MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
export const DEFAULT_MODEL_NAME = 'default';

export class ModelNotFoundError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'ModelNotFoundError'; }
}

/** The bundled models' names: the image models (`upscale`, `eval`), or the video ones (`video`, `eval-video`). */
export function bundledModels(kind: 'image' | 'video' = 'image'): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  const names = readdirSync(MODELS_DIR).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace(/\.safetensors$/, '')).sort();
  return names.filter((n) => (n === DEFAULT_VIDEO_MODEL_NAME) === (kind === 'video'));
}

export function resolveModel(nameOrPath: string | undefined): string {
  const name = nameOrPath ?? DEFAULT_MODEL_NAME;
  if (nameOrPath && (nameOrPath.includes('/') || nameOrPath.includes('\\') || /\.(safetensors|pth|pt)$/i.test(nameOrPath))) {
    if (!existsSync(nameOrPath)) throw new ModelNotFoundError(`model file not found: ${nameOrPath}`);
    return nameOrPath;
  }
  const path = join(MODELS_DIR, `${name}.safetensors`);
  if (existsSync(path)) return path;
  const available = bundledModels();
  if (!nameOrPath) {
    throw new ModelNotFoundError(
      available.length
        ? `no default model is installed; bundled models: ${available.join(', ')} (choose one with the model option)`
        : 'no default model is installed yet: pass a model file in the model option (import official C2-Matching checkpoints with `refsr convert`)',
    );
  }
  throw new ModelNotFoundError(`unknown model "${name}"; bundled models: ${available.length ? available.join(', ') : 'none'} (or pass a file path in the model option)`);
}

/** The bundled multi-reference model (models/multi-reference.safetensors): `upscale`'s default for several references. */
export const DEFAULT_MULTI_MODEL_NAME = 'multi-reference';

/**
 * `--model` of `upscale`: as resolveModel; without it, the bundled multi-reference model when the run will use
 * several references (`references` > 1) and that model is installed, else the default model.
 */
export function resolveImageModel(nameOrPath: string | undefined, references: number): string {
  if (nameOrPath === undefined && references > 1) {
    const path = join(MODELS_DIR, `${DEFAULT_MULTI_MODEL_NAME}.safetensors`);
    if (existsSync(path)) return path;
  }
  return resolveModel(nameOrPath);
}

/** The bundled video model's name (models/video.safetensors). */
export const DEFAULT_VIDEO_MODEL_NAME = 'video';

/** `--model` of `refsr video`: as resolveModel, but without it the bundled video model, or a clear note that there is none. */
export function resolveVideoModel(nameOrPath: string | undefined): string {
  if (nameOrPath) return resolveModel(nameOrPath);
  const path = join(MODELS_DIR, `${DEFAULT_VIDEO_MODEL_NAME}.safetensors`);
  if (existsSync(path)) return path;
  throw new ModelNotFoundError('the bundled video model (models/video.safetensors) is not installed: pass a Ref-VSR model with --model PATH (import the official C2-Matching Ref-VSR checkpoint with `refsr convert REFVSR.pth [--spynet SPYNET.pth] -o refvsr.safetensors`)');
}
