// Owns building the browser app into a static folder (default dist-web/, `npm run build:web`): esbuild bundles
// web/app.ts (the page) and web/worker.ts (the inference worker, which imports the shared pipeline from src/) twice:
// worker.js on ORT's plain wasm build and worker-webgpu.js on its WebGPU-capable JSEP build (the page starts the
// second only when the browser has a WebGPU adapter). The folder also gets index.html, the stylesheet, the bundled
// default model and ONNX Runtime's wasm files (copied from node_modules/onnxruntime-web/dist: the app fetches
// nothing from elsewhere).
//
// The one Node/browser seam: src/graph/ort-runtime.ts (onnxruntime-node) resolves to web/runtime/ort-runtime.ts
// (onnxruntime-web), and the Node built-ins that file-handling modules import resolve to web/runtime/node-builtins.ts.
// Everything else (network definitions, graph builder, matching, tiling, Pillow bicubic) is the same source as in Node.

import * as esbuild from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, '..');
export const DEFAULT_WEB_OUT = join(repoRoot, 'dist-web');

/** ORT files the app loads: the plain wasm build (worker.js) and the JSEP build with WebGPU (worker-webgpu.js). */
const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
const NODE_BUILTINS = /^node:(fs\/promises|path|zlib)$/;

function browserSeam(ortBuild: 'wasm' | 'webgpu'): esbuild.Plugin {
  return { name: 'refsr-browser-seam', setup(b) {
    const nodeRuntime = join(repoRoot, 'src', 'graph', 'ort-runtime.ts');
    b.onResolve({ filter: /ort-runtime\.ts$/ }, (a) => {
      return resolve(a.resolveDir, a.path) === nodeRuntime ? { path: join(webDir, 'runtime', 'ort-runtime.ts') } : undefined;
    });
    if (ortBuild === 'webgpu') {
      b.onResolve({ filter: /^onnxruntime-web\/wasm$/ }, async (a) => {
        const r = await b.resolve('onnxruntime-web', { kind: a.kind, resolveDir: a.resolveDir });
        return { path: r.path, errors: r.errors };
      });
    }
    b.onResolve({ filter: NODE_BUILTINS }, () => ({ path: join(webDir, 'runtime', 'node-builtins.ts') }));
    b.onResolve({ filter: /^(node:.*|sharp|onnxruntime-node)$/ }, (a) => ({
      errors: [{ text: `${a.path} (imported by ${a.importer.replace(repoRoot + '/', '')}) has no browser counterpart; keep it out of the app's imports or add it to the seam in web/build.ts` }],
    }));
  } };
}

export interface WebBuild { readonly outDir: string; readonly bytes: Record<string, number> }

export async function buildWeb(outDir = DEFAULT_WEB_OUT, opts: { minify?: boolean } = {}): Promise<WebBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'ort'), { recursive: true });
  await mkdir(join(outDir, 'models'), { recursive: true });
  const common = {
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // ORT's module that loads its wasm from env.wasm.wasmPaths (the copied files) rather than inlining it.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    // The shared code's only use of `process`: a test hook (src/debug/stall-point.ts), never set in a browser.
    define: { 'process.env.REFSR_STALL_AT': 'undefined' },
    minify: opts.minify ?? true,
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
  } satisfies esbuild.BuildOptions;
  const results = [
    await esbuild.build({ ...common, entryPoints: { app: join(webDir, 'app.ts'), worker: join(webDir, 'worker.ts') }, plugins: [browserSeam('wasm')] }),
    await esbuild.build({ ...common, entryPoints: { 'worker-webgpu': join(webDir, 'worker.ts') }, plugins: [browserSeam('webgpu')] }),
  ];
  for (const f of ['index.html', 'style.css']) await copyFile(join(webDir, f), join(outDir, f));
  const ortDist = join(repoRoot, 'node_modules', 'onnxruntime-web', 'dist');
  for (const f of ORT_FILES) await copyFile(join(ortDist, f), join(outDir, 'ort', f));
  await copyFile(join(repoRoot, 'models', 'default.safetensors'), join(outDir, 'models', 'default.safetensors'));
  const bytes: Record<string, number> = {};
  for (const [file, o] of results.flatMap((r) => Object.entries(r.metafile.outputs))) if (!file.endsWith('.map')) bytes[file.replace(/^.*\//, '')] = o.bytes;
  return { outDir, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_WEB_OUT;
  const b = await buildWeb(out);
  process.stderr.write(`built the browser app in ${b.outDir} (${Object.entries(b.bytes).map(([f, n]) => `${f} ${(n / 1024).toFixed(0)} KiB`).join(', ')}); serve it with npx refsr serve\n`);
}
