// `refsr eval` on CI-sized subsets of ../shared/data with the seeded tiny model (skips when ../shared is absent):
// WR-SR dev (2 pairs), a WR-SR_pairs.txt-style pairs file, a CUFED5-layout folder made of symlinks to the CUFED
// training sample (one input at all five levels), Urban100 convention on Set5, Manga109 convention on Set14.
// `--crop 96` keeps the large photos small (a smoke-run option, not the paper protocol).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, dataSkip } from './support/shared.ts';
import { refsr } from './support/cli.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';


const out = tempDir('refsr-evals-');
let model = '';

function run(name: string, args: string[]): { images: number; byLevel?: unknown[]; perImage: { name: string; ref: string; refsr: { psnrY: number }; bicubic: { psnrY: number } }[] } {
  const report = join(out, `${name}.json`);
  const r = refsr(['eval', ...args, '--model', model, '--report', report, '-q'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  const j = JSON.parse(readFileSync(report, 'utf8'));
  for (const p of j.perImage) assert.ok(Number.isFinite(p.refsr.psnrY) && p.bicubic.psnrY > 15, `${name} ${p.name}: ${JSON.stringify(p)}`);
  return j;
}

test('shared data: every protocol on a CI-sized subset', { skip: dataSkip }, async (t) => {
  model = await writeTinyModelFile();
  await t.test('wrsr', () => {
    const j = run('wrsr', [join(dataDir, 'wr-sr-dev'), '--protocol', 'wrsr', '--limit', '2', '--crop', '96', '--html', join(out, 'wrsr.html')]);
    assert.deepEqual(j.perImage.map((p) => [p.name, p.ref]), [['001', '001_ref.png'], ['002', '002_ref.png']]);
    assert.match(readFileSync(join(out, 'wrsr.html'), 'utf8'), /data:image\/png;base64,/);
  });
  await t.test('pairs file', () => {
    const pairs = join(out, 'WR-SR_pairs.txt');
    writeFileSync(pairs, '003.png 003_ref.png\n001.png 001_ref.png\n005.png 005_ref.png\n');
    const j = run('pairs', [join(dataDir, 'wr-sr-dev'), '--pairs', pairs, '--limit', '2', '--crop', '96']);
    assert.deepEqual(j.perImage.map((p) => p.name), ['003', '001']);
  });
  await t.test('cufed5 (all levels)', () => {
    const sample = join(dataDir, 'cufed-train-sample');
    const files = readdirSync(join(sample, 'input')).sort();
    const cufed = tempDir('refsr-cufed5-');
    for (let i = 0; i < 2; i++) {
      const id = String(i).padStart(3, '0');
      symlinkSync(join(sample, 'input', files[i]!), join(cufed, `${id}_0.png`));
      for (let l = 1; l <= 5; l++) symlinkSync(join(sample, 'ref', files[(i + l - 1) % files.length]!), join(cufed, `${id}_${l}.png`));
    }
    const j = run('cufed5', [cufed, '--protocol', 'cufed5', '--all-levels', '--limit', '1']);
    assert.equal(j.images, 5);
    assert.equal(j.byLevel!.length, 5);
  });
  await t.test('urban100 convention on Set5', () => {
    const j = run('urban100', [join(dataDir, 'set5'), '--protocol', 'urban100', '--limit', '2', '--crop', '96']);
    assert.deepEqual(j.perImage.map((p) => [p.name, p.ref]), [['baby', 'self'], ['bird', 'self']]);
  });
  await t.test('manga109 convention on Set14', () => {
    const j = run('manga109', [join(dataDir, 'set14'), '--protocol', 'manga109', '--limit', '2', '--crop', '96', '--seed', '1']);
    assert.equal(j.images, 2);
    for (const p of j.perImage) assert.notEqual(p.ref, `${p.name}.png`);
  });
});
