// Owns `refsr serve [--port N] [--dir DIR]`: serves the built browser app on http://127.0.0.1 (loopback only) with
// the cross-origin isolation headers that give its wasm threads (src/serve/static-server.ts), prints the URL and
// runs until Ctrl-C.

import type { Command } from 'commander';
import { serveStatic, WEB_DIR } from '../../serve/static-server.ts';
import { intOption } from '../options.ts';

export const DEFAULT_SERVE_PORT = 4178;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the browser app (drop a photo and references, upscale in the browser) on localhost')
    .option('-p, --port <n>', 'TCP port on 127.0.0.1 (0: any free port)', intOption, DEFAULT_SERVE_PORT)
    .option('--dir <folder>', 'the built app (npm run build:web)', WEB_DIR)
    .addHelpText('after', '\nExample:\n  npm run build:web && refsr serve --port 8080    # then open http://127.0.0.1:8080/\n')
    .action(async (flags: { port: number; dir: string }) => {
      const server = await serveStatic(flags.dir, { port: flags.port });
      process.stderr.write(`refsr: serving the browser app from ${flags.dir}\nopen ${server.url}  (Ctrl-C stops)\n`);
      await new Promise<void>((done) => {
        const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); done(); };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
