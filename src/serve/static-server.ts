// Owns serving the built browser app (dist-web/, `npm run build:web`) over HTTP on the loopback interface, with the
// headers the app needs: Cross-Origin-Opener-Policy same-origin and Cross-Origin-Embedder-Policy require-corp make
// the page cross-origin isolated, which lets ONNX Runtime's wasm use threads (SharedArrayBuffer). Only GET/HEAD of
// files inside the folder are answered (no listing, no path outside it); .wasm is served as application/wasm.

import { createServer, type Server } from 'node:http';
import { RefsrError } from '../errors/refsr-error.ts';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built app: dist-web/ at the package root. */
export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist-web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.map': 'application/json', '.json': 'application/json',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.safetensors': 'application/octet-stream',
};

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export class ServeError extends RefsrError {}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts serving `dir` on host:port (port 0: any free port); resolves once it listens. */
export async function serveStatic(dir: string = WEB_DIR, opts: { host?: string; port?: number } = {}): Promise<RunningServer> {
  const root = resolve(dir);
  const index = await stat(join(root, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) throw new ServeError(`${root}: no built browser app here (index.html missing); run npm run build:web first`);
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', ...ISOLATION_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'method not allowed\n'); return; }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      send(400, 'bad request\n');
      return;
    }
    const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (file !== root && !file.startsWith(root + sep)) { send(403, 'forbidden\n'); return; }
    readFile(file).then(
      (bytes) => send(200, bytes, TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'),
      () => send(404, 'not found\n'),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new ServeError(`port ${opts.port} is already in use; choose another with --port`) : e));
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
