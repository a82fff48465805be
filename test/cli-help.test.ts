// What a new user sees first (issue 14, item 6): -v prints the version; every command's help marks its required
// options and shows an example; the bundled model names are listed; `--version` and `--help` load no image, ONNX or
// tfjs library (fast start-up); and npm prints no "Unknown project config" warning for this project's .npmrc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refsr } from './support/cli.ts';
import { repoRoot } from './support/shared.ts';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['upscale', 'eval', 'convert', 'match', 'robustness', 'train', 'curve'];

test('-v and --version print the package version', () => {
  for (const flag of ['-v', '--version']) {
    const r = refsr([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  }
});

test('every command help shows an example and marks its required options; model names are listed', () => {
  const top = refsr(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Example:\n\s+refsr upscale /);
  for (const c of COMMANDS) {
    const r = refsr([c, '--help']);
    assert.equal(r.code, 0, `${c}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Examples?:\\n\\s+refsr ${c} `), `${c} --help has an example`);
  }
  const up = refsr(['upscale', '--help']).stdout;
  assert.match(up, /-r, --ref <file>\s+reference image \(repeat for several; required\s+unless --ref-dir\)/);
  assert.match(up, /--ref-dir <folder>/);
  assert.doesNotMatch(up, /default: \[\]/);
  assert.match(up, /bundled model name \(default, multi-reference, v1;\s+default:\s+default;\s+multi-reference\s+with\s+several\s+references\)/);
  assert.match(refsr(['eval', '--help']).stdout, /bundled model name \(default, multi-reference, v1;\s+default:\s+default\)/);
  assert.match(refsr(['match', '--help']).stdout, /--viz <file\.png>\s+picture to write \(required\)/);
  assert.match(refsr(['convert', '--help']).stdout, /-o, --output <file>\s+output \.safetensors \(required\)/);
  assert.match(refsr(['train', '--help']).stdout, /-c, --config <file>\s+.*\(required\)/);
});

test('start-up loads no image, ONNX or tfjs library for --version and --help', () => {
  // The CLI module in a plain process (through tsx, as bin/refsr.js runs the sources), then the CommonJS module cache.
  const script = `
    const natives = [];
    const dlopen = process.dlopen;
    process.dlopen = (m, file, ...rest) => { natives.push(file); return dlopen.call(process, m, file, ...rest); };
    const { main } = await import(${JSON.stringify(join(repoRoot, 'src', 'cli', 'main.ts'))});
    const out = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    await main(['--version']); await main(['--help']); await main(['upscale', '--help']); await main(['eval', '--help']); await main(['train', '--help']);
    process.stdout.write = out;
    if (process.env.PROBE) await import(process.env.PROBE);
    console.log(JSON.stringify({ natives, tfjs: '_tfengine' in globalThis }));`;
  const run = (env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { natives: string[]; tfjs: boolean };
  };
  assert.deepEqual(run(), { natives: [], tfjs: false });
  // The probe sees them when they do load (sharp and ONNX Runtime are native addons; tfjs sets a global engine).
  assert.ok(run({ PROBE: join(repoRoot, 'src', 'image', 'decode.ts') }).natives.some((f) => /sharp/.test(f)));
  assert.ok(run({ PROBE: join(repoRoot, 'src', 'graph', 'ort-session.ts') }).natives.some((f) => /onnxruntime/.test(f)));
  assert.equal(run({ PROBE: join(repoRoot, 'src', 'training', 'tfjs-ops.ts') }).tfjs, true);
});

test('npm reads this project\'s .npmrc without an "Unknown project config" warning, and keeps installs script-free', () => {
  const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown project config/);
  assert.equal(r.stdout.trim(), 'true', 'dependency install scripts (onnxruntime-node\'s CUDA download) never run');
});
