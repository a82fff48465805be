// Owns the browser stand-ins for the few Node built-ins that shared modules import for file work the browser app
// never does: reading weight files from a path (src/weights/*: the app parses the fetched bundle with
// parseSafetensors instead), atomic writes to disk (src/io/atomic-write.ts: the app hands the user a PNG download)
// and .pth zip inflation. The browser build (web/build.ts) resolves node:fs/promises, node:path and node:zlib here;
// every function throws a clear error if it is ever reached, so a path that slipped into the app fails loudly.

function unavailable(name: string): never {
  throw new Error(`${name} is not available in the browser app (Node-only file work)`);
}

export const readFile = (..._: unknown[]): never => unavailable('readFile');
export const open = (..._: unknown[]): never => unavailable('open');
export const rename = (..._: unknown[]): never => unavailable('rename');
export const unlink = (..._: unknown[]): never => unavailable('unlink');
export const stat = (..._: unknown[]): never => unavailable('stat');
export const basename = (..._: unknown[]): never => unavailable('path.basename');
export const dirname = (..._: unknown[]): never => unavailable('path.dirname');
export const join = (..._: unknown[]): never => unavailable('path.join');
export const inflateRawSync = (..._: unknown[]): never => unavailable('inflateRawSync (.pth weight files)');
/** Absent, as in Node before 20.15: zip-archive.ts then uses its own CRC-32. */
export const crc32 = undefined;
