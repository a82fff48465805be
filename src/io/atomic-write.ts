// Owns atomic file output: every artefact refsr writes (images, weights, reports, checkpoints) goes to a temp file
// in the destination folder, is flushed, then renamed over the target, so a crash or a full disk never leaves a
// partial file under the real name. A cancellable write (a `signal`) checks it after the temp file is flushed and
// before the rename: a cancel during the write removes the temp file and writes nothing. An OutputBatch stages
// several files and renames them together at the end, so a command with several outputs (report, CSV, HTML)
// writes all of them or none.

import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stallPoint } from '../debug/stall-point.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export class OutputWriteError extends RefsrError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'OutputWriteError';
  }
}

/** Where a writer puts its files: straight to disk (atomically), or into an OutputBatch. */
export interface OutputSink {
  write(path: string, data: Uint8Array | string): Promise<void>;
}

export interface AtomicWriteOptions {
  readonly signal?: AbortSignal;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

function writeError(path: string, e: unknown): OutputWriteError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'disk full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOENT' ? 'folder does not exist' : (e as Error).message;
  return new OutputWriteError(path, `cannot write (${why}); nothing was written`);
}

/** Writes and flushes the temp file of `path`; on any failure (or a cancel) removes it and throws. */
async function writeTemp(path: string, data: Uint8Array | string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const tmp = tempName(path);
  let handle;
  try {
    handle = await open(tmp, 'w');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (e) {
    if (handle) await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw writeError(path, e);
  }
  try {
    await stallPoint('write', signal);
    signal?.throwIfAborted();
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  return tmp;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = await writeTemp(path, data, opts.signal);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw writeError(path, e);
  }
}

/** Several outputs staged as flushed temp files, renamed into place together by `commit` (or all removed). */
export class OutputBatch implements OutputSink {
  private readonly staged: { tmp: string; path: string }[] = [];

  constructor(private readonly signal?: AbortSignal) {}

  async write(path: string, data: Uint8Array | string): Promise<void> {
    this.staged.push({ tmp: await writeTemp(path, data, this.signal), path });
  }

  async commit(): Promise<void> {
    this.signal?.throwIfAborted();
    while (this.staged.length) {
      const { tmp, path } = this.staged[0]!;
      try {
        await rename(tmp, path);
      } catch (e) {
        await this.discard(); // this one's temp file and every one not renamed yet
        throw writeError(path, e);
      }
      this.staged.shift();
    }
  }

  async discard(): Promise<void> {
    for (const { tmp } of this.staged.splice(0)) await unlink(tmp).catch(() => {});
  }
}

/** Runs `work` with a batch and commits it when `work` succeeds and was not cancelled; discards it otherwise. */
export async function withOutputs<T>(signal: AbortSignal | undefined, work: (out: OutputBatch) => Promise<T>): Promise<T> {
  const batch = new OutputBatch(signal);
  try {
    const r = await work(batch);
    await batch.commit();
    return r;
  } catch (e) {
    await batch.discard();
    throw e;
  }
}

/** The sink that writes each file atomically on its own. */
export const directOutput: OutputSink = { write: (path, data) => writeFileAtomic(path, data) };
