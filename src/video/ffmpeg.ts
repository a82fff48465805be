// Owns video files through the system's ffmpeg / ffprobe (Debian's `ffmpeg` package; never downloaded): whether they
// are installed, a file's frame size, frame count and rate, decoding to raw RGB frames read one by one from a pipe,
// and encoding raw RGB frames written one by one into a pipe. Without ffmpeg every entry point fails with a message
// naming the file and the two ways out (install ffmpeg, or use a folder of frames).

import { RefsrError } from '../errors/refsr-error.ts';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { extname } from 'node:path';
import { rgbImage, type RgbImage } from '../image/rgb-image.ts';

export class VideoFileError extends RefsrError {
  constructor(readonly file: string, message: string) { super(`${file}: ${message}`); }
}

/** Extensions treated as video files (anything else given as IN or OUT is a folder of frames). */
export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.webm', '.mov', '.avi', '.m4v', '.y4m'];

export function isVideoPath(path: string): boolean {
  return VIDEO_EXTENSIONS.includes(extname(path).toLowerCase());
}

const FFMPEG = process.env.REFSR_FFMPEG ?? 'ffmpeg';
const FFPROBE = process.env.REFSR_FFPROBE ?? 'ffprobe';

let available: boolean | undefined;
export function ffmpegAvailable(): boolean {
  if (available === undefined) {
    const ok = (cmd: string) => { const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' }); return !r.error && r.status === 0; };
    available = ok(FFMPEG) && ok(FFPROBE);
  }
  return available;
}

export function requireFfmpeg(file: string, what: 'read' | 'write'): void {
  if (!ffmpegAvailable()) {
    throw new VideoFileError(file, `${what === 'read' ? 'reading' : 'writing'} a video file needs ffmpeg, which is not installed (Debian/Ubuntu: apt-get install ffmpeg); or ${what === 'read' ? 'pass a folder of frames (PNG, JPEG, ...) instead' : 'give a folder as the output to get PNG frames'}`);
  }
}

export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Frame count from the container's packets (ffprobe -count_packets); decoding checks it. */
  readonly frames: number;
  /** Frames per second as a fraction string ("25/1"). */
  readonly rate: string;
}

export function probeVideo(file: string): VideoInfo {
  requireFfmpeg(file, 'read');
  const r = spawnSync(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=width,height,nb_read_packets,r_frame_rate', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new VideoFileError(file, `ffprobe cannot read it (${(r.stderr || 'no output').trim().split('\n').pop()})`);
  const s = (JSON.parse(r.stdout) as { streams?: { width?: number; height?: number; nb_read_packets?: string; r_frame_rate?: string }[] }).streams?.[0];
  if (!s || !s.width || !s.height) throw new VideoFileError(file, 'has no video stream');
  const frames = Number(s.nb_read_packets ?? 0);
  if (!(frames > 0)) throw new VideoFileError(file, 'has no video frames');
  return { width: s.width, height: s.height, frames, rate: s.r_frame_rate && s.r_frame_rate !== '0/0' ? s.r_frame_rate : '25/1' };
}

/** Sequential decoder: frames 0, 1, 2, ... as RGB images, from one ffmpeg process. */
export class VideoDecoder {
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private stderr = '';
  next = 0;

  constructor(readonly file: string, readonly info: VideoInfo) {
    requireFfmpeg(file, 'read');
    this.child = spawn(FFMPEG, ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffered.push(d);
      this.bufferedBytes += d.length;
      if (this.bufferedBytes > 4 * this.frameBytes) this.child.stdout.pause();
      this.wake?.();
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.child.on('error', (e) => { this.failure = e; this.wake?.(); });
    this.child.on('close', (code) => {
      this.ended = true;
      if (code !== 0 && code !== null) this.failure ??= new VideoFileError(file, `ffmpeg failed to decode it (${this.stderr.trim().split('\n').pop() ?? `exit ${code}`})`);
      this.wake?.();
    });
  }

  private get frameBytes(): number { return this.info.width * this.info.height * 3; }

  /** The next frame; throws at the end of the stream or on a decoding error. */
  async read(): Promise<RgbImage> {
    const n = this.frameBytes;
    while (this.bufferedBytes < n) {
      if (this.failure) throw this.failure;
      if (this.ended) throw new VideoFileError(this.file, `ffmpeg decoded only ${this.next} frames (the container lists ${this.info.frames})`);
      this.child.stdout.resume();
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
    const all = Buffer.concat(this.buffered);
    const frame = new Uint8Array(all.subarray(0, n));
    this.buffered = all.length > n ? [all.subarray(n)] : [];
    this.bufferedBytes = all.length - n;
    if (this.bufferedBytes <= 4 * n) this.child.stdout.resume();
    this.next++;
    return rgbImage(this.info.width, this.info.height, frame);
  }

  close(): void {
    if (!this.ended) this.child.kill('SIGKILL');
  }
}

/** Encoder of RGB frames into a video file (the codec ffmpeg picks for the container, yuv420p, quality crf 16). */
export class VideoEncoder {
  private readonly child: ChildProcessByStdio<Writable, null, Readable>;
  private stderr = '';
  private readonly closed: Promise<number | null>;

  constructor(readonly file: string, readonly width: number, readonly height: number, rate: string) {
    requireFfmpeg(file, 'write');
    const quality = /\.(mp4|mkv|mov|m4v)$/i.test(file) ? ['-crf', '16'] : [];
    this.child = spawn(FFMPEG, ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', rate, '-i', '-', '-pix_fmt', 'yuv420p', ...quality, file], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.closed = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', resolve);
    });
    this.child.stdin.on('error', () => { /* reported by close() from the exit code */ });
  }

  async write(img: RgbImage): Promise<void> {
    if (img.width !== this.width || img.height !== this.height) throw new Error(`frame ${img.width}x${img.height} into a ${this.width}x${this.height} video`);
    if (!this.child.stdin.write(img.data)) await new Promise<void>((resolve) => this.child.stdin.once('drain', resolve));
  }

  /** Finishes the file; throws with ffmpeg's message when it failed. */
  async close(): Promise<void> {
    this.child.stdin.end();
    const code = await this.closed;
    if (code !== 0) throw new VideoFileError(this.file, `ffmpeg failed to encode (${this.stderr.trim().split('\n').pop() ?? `exit ${code}`})`);
  }

  abort(): void { this.child.kill('SIGKILL'); }
}
