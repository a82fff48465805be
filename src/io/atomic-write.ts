// Owns atomic file output: every artefact refsr writes (images, weights, reports, checkpoints) goes to a temp file
// in the destination folder, is flushed, then renamed over the target, so a crash or a full disk never leaves a
// partial file under the real name.

import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class OutputWriteError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'OutputWriteError';
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let handle;
  try {
    handle = await open(tmp, 'w');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (e) {
    if (handle) await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'disk full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOENT' ? 'folder does not exist' : (e as Error).message;
    throw new OutputWriteError(path, `cannot write (${why}); nothing was written`);
  }
}
