// Owns where `refsr video` reads a clip from and writes it to: a folder of frame images (sorted naturally, so
// frame2 comes before frame10) or a video file through ffmpeg (ffmpeg.ts); a folder of PNG frames written one by
// one, each atomically (a cancel keeps the frames already written, and a rerun skips them), or a video file
// encoded into a temp file renamed into place at the end (a cancel or an error leaves nothing).

import { existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { readImageFile } from '../image/decode.ts';
import { writeImage } from '../image/encode.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import type { ClipFrames } from '../pipeline/refvsr-video.ts';
import { VideoInputError } from '../pipeline/refvsr-video.ts';
import { VideoDecoder, VideoEncoder, probeVideo, isVideoPath, requireFfmpeg } from './ffmpeg.ts';

const FRAME_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp'];

export interface ClipSource extends ClipFrames {
  /** Output frame base names (without extension), one per frame. */
  readonly stems: string[];
  /** Frame rate for a video output ("25/1" unless the input is a video). */
  readonly rate: string;
  close(): void;
}

/** Frame image files of a folder in natural order (numbers compared as numbers); hidden files are ignored. */
export function listFrames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && FRAME_EXTENSIONS.includes(extname(f).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }));
}

export function openClip(path: string, opts: { maxPixels?: number; keep?: number } = {}): ClipSource {
  if (!existsSync(path)) throw new VideoInputError(`${path}: not found (give a folder of frames or a video file)`);
  if (statSync(path).isDirectory()) {
    const files = listFrames(path);
    if (files.length === 0) throw new VideoInputError(`${path}: the folder holds no frame images (${FRAME_EXTENSIONS.join(', ')})`);
    return {
      count: files.length,
      stems: files.map((f) => basename(f, extname(f))),
      rate: '25/1',
      name: (i) => join(path, files[i]!),
      read: (i) => readImageFile(join(path, files[i]!), { maxPixels: opts.maxPixels }),
      close() {},
    };
  }
  if (!isVideoPath(path)) throw new VideoInputError(`${path}: is neither a folder of frames nor a video file (${['.mp4', '.mkv', '.webm', '.mov', '.avi'].join(', ')})`);
  const info = probeVideo(path);
  const decoder = new VideoDecoder(path, info);
  const keep = Math.max(opts.keep ?? 32, 2);
  const cache = new Map<number, RgbImage>();
  const digits = Math.max(6, String(info.frames).length);
  return {
    count: info.frames,
    stems: Array.from({ length: info.frames }, (_, i) => String(i).padStart(digits, '0')),
    rate: info.rate,
    name: (i) => `${path} frame ${i}`,
    async read(i) {
      const hit = cache.get(i);
      if (hit) return hit;
      if (i < decoder.next) throw new Error(`${path}: frame ${i} was already decoded and dropped (windows must move forward)`);
      while (decoder.next <= i) {
        const n = decoder.next;
        cache.set(n, await decoder.read());
        for (const k of cache.keys()) if (k !== 0 && k < n - keep) cache.delete(k);
      }
      return cache.get(i)!;
    },
    close: () => decoder.close(),
  };
}

export interface ClipSink {
  /** True when frame i is already in the output (a folder output being resumed). */
  has(i: number): boolean;
  write(i: number, img: RgbImage): Promise<void>;
  /** Completes the output (renames a video into place). */
  finish(): Promise<void>;
  /** Drops an unfinished video output (its temp file); a folder keeps the frames written. */
  abort(): Promise<void>;
  /** What a cancel keeps, for the message. */
  readonly kind: 'folder' | 'video';
}

/** A folder output: created when missing (its parent must exist); frame i goes to `<stem>.png`. */
export function folderSink(dir: string, stems: readonly string[], signal?: AbortSignal): ClipSink {
  if (!existsSync(dir)) {
    if (!existsSync(dirname(dir))) throw new VideoInputError(`${dir}: cannot create the output folder (its parent folder does not exist)`);
    mkdirSync(dir);
  } else if (!statSync(dir).isDirectory()) {
    throw new VideoInputError(`${dir}: exists and is not a folder (give a folder for PNG frames, or a video file name ending in .mp4, .mkv, ...)`);
  }
  const file = (i: number) => join(dir, `${stems[i]}.png`);
  return {
    kind: 'folder',
    has: (i) => existsSync(file(i)),
    write: (i, img) => writeImage(file(i), img, { write: (p, d) => writeFileAtomic(p, d, { signal }) }),
    async finish() {},
    async abort() {},
  };
}

/** A video output: frames must come in order 0, 1, 2, ...; encoded into a temp file beside OUT, renamed at the end. */
export function videoSink(path: string, rate: string): ClipSink {
  requireFfmpeg(path, 'write');
  if (!existsSync(dirname(path))) throw new VideoInputError(`${path}: the output folder ${dirname(path)} does not exist`);
  const tmp = join(dirname(path), `.${basename(path, extname(path))}.${process.pid}.tmp${extname(path)}`);
  let encoder: VideoEncoder | undefined;
  let next = 0;
  return {
    kind: 'video',
    has: () => false,
    async write(i, img) {
      if (i !== next) throw new Error(`video frames out of order: ${i} after ${next - 1}`);
      encoder ??= new VideoEncoder(tmp, img.width, img.height, rate);
      await encoder.write(img);
      next++;
    },
    async finish() {
      if (!encoder) throw new VideoInputError(`${path}: no frames to write`);
      await encoder.close();
      await rename(tmp, path);
    },
    async abort() {
      encoder?.abort();
      await unlink(tmp).catch(() => {});
    },
  };
}
