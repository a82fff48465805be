#!/usr/bin/env node
// refsr command-line entry. From the package: the compiled CLI (dist/cli/main.js, plain JavaScript, no loader).
// In a checkout (src/ next to dist/): the compiled CLI when `npm run build` ran after the last source edit, else the
// TypeScript sources through tsx (a dev dependency), so a stale build never hides an edit. REFSR_FROM_SOURCE=1
// forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
const src = join(root, 'src');

function buildIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(src)) return true; // the installed package ships dist only
  if (process.env.REFSR_FROM_SOURCE === '1') return false;
  const builtAt = statSync(built).mtimeMs;
  for (const f of readdirSync(src, { recursive: true })) {
    if (statSync(join(src, String(f))).mtimeMs > builtAt) return false;
  }
  return true;
}

let entry = built;
if (!buildIsCurrent()) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('refsr: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed: run `npm ci && npm run build`\n');
    process.exit(1);
  }
  entry = join(src, 'cli', 'main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
