// The published package as a new user gets it (issue 14, item 1): `npm run build`, `npm pack`, the tarball
// installed into an empty folder (npm registry or its cache only; onnxruntime-node's optional CUDA download off
// through its own ONNXRUNTIME_NODE_INSTALL=skip), then `npx refsr upscale` on the example pair and a plain-Node ESM
// script that imports refsr and upscales the same pair: both outputs 400x320 and identical. Also: the tarball holds
// dist, bin, models, README and LICENSE but no sources, tests, benchmarks, examples or training runs; the types
// resolve for a TypeScript consumer; tfjs and tsx (training only) are not installed, and `refsr train` says so.
// About a minute or two; skipped with a message when npm is not on PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { repoRoot, prerequisite } from './support/shared.ts';
import { tempDir } from './support/temp.ts';

const npmSkip = prerequisite(spawnSync('npm', ['--version']).status === 0, 'npm not found on PATH; the package test needs it');

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { timeout?: number } = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status} (${r.signal ?? ''}):\n${String(r.stdout).slice(-2000)}\n${String(r.stderr).slice(-4000)}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

test('the packed tarball installs into an empty folder and works from the CLI and from plain Node', { skip: npmSkip, timeout: 900_000 }, async () => {
  const work = tempDir('refsr-pack-');
  run('npm', ['run', 'build'], { cwd: repoRoot });
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot }).stdout) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/refsr.js', 'dist/index.js', 'dist/index.d.ts', 'dist/core.js', 'dist/eval.d.ts', 'dist/train.d.ts', 'dist/cli/main.js', 'models/default.safetensors', 'models/multi-reference.safetensors', 'models/video.safetensors']) {
    assert.ok(files.includes(f), `tarball holds ${f}`);
  }
  for (const prefix of ['src/', 'test/', 'bench/', 'examples/', 'training-runs/', 'configs/', '.ci/']) {
    assert.ok(!files.some((f) => f.startsWith(prefix)), `tarball holds nothing under ${prefix}`);
  }

  const app = join(work, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'refsr-consumer', private: true, type: 'module' }));
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };
  run('npm', ['install', '--prefer-offline', '--no-package-lock', join(work, packed[0]!.filename)], { cwd: app, env });
  for (const optional of ['tsx', '@tensorflow/tfjs-core']) assert.ok(!existsSync(join(app, 'node_modules', optional)), `${optional} (training only) is not installed`);

  const lr = join(repoRoot, 'examples', 'coffee-lr.png');
  const ref = join(repoRoot, 'examples', 'coffee-ref.png');
  const cliOut = join(work, 'cli.png');
  const cli = run('npx', ['refsr', 'upscale', lr, '--ref', ref, '-o', cliOut, '-q'], { cwd: app, env });
  assert.doesNotMatch(cli.stderr, /npm warn/i, 'no npm warning on npx refsr');

  const apiOut = join(work, 'api.png');
  writeFileSync(join(app, 'upscale.mjs'), `import { createUpscaler, RefsrError } from 'refsr';
import { RefSRModel } from 'refsr/core';
if (typeof RefSRModel.load !== 'function' || typeof RefsrError !== 'function') throw new Error('exports missing');
const up = await createUpscaler();
const r = await up.upscale(${JSON.stringify(lr)}, [${JSON.stringify(ref)}]);
await r.save(${JSON.stringify(apiOut)});
await up.dispose();
console.log(JSON.stringify({ width: r.width, height: r.height }));
`);
  const api = run(process.execPath, ['upscale.mjs'], { cwd: app, env });
  assert.deepEqual(JSON.parse(api.stdout), { width: 400, height: 320 });

  const a = await sharp(cliOut).raw().toBuffer({ resolveWithObject: true });
  const b = await sharp(apiOut).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([a.info.width, a.info.height], [400, 320]);
  assert.ok(a.data.equals(b.data), 'the CLI and the library give the same image');

  // Types resolve for a TypeScript consumer (NodeNext), including a sub-path.
  writeFileSync(join(app, 'consumer.ts'), `import { createUpscaler, type UpscaleOutput } from 'refsr';
import { evaluate } from 'refsr/eval';
const up = await createUpscaler({ model: 'default' });
const r: UpscaleOutput = await up.upscale('a.png', ['b.png'], { onProgress: (p) => console.log(p.stage, p.fraction) });
console.log(r.width, typeof evaluate);
`);
  run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(repoRoot, 'node_modules', '@types'), 'consumer.ts'], { cwd: app });

  // Training needs the optional peers: a clear message, not a module path.
  const train = spawnSync('npx', ['refsr', 'train', 'restoration', '-c', 'missing.yaml'], { cwd: app, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(train.status, 1, train.stderr);
  assert.match(train.stderr, /refsr: training needs the optional dependencies @tensorflow\/tfjs-core, .*tsx, which are not installed \(inference does not\): npm install /);
  assert.ok(readdirSync(work).includes('cli.png'));
});
