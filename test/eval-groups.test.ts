// The groups evaluation protocol (an input with N references): the items, scenes and CUFED5 (5 references padded to
// 500x500) layouts on tiny synthetic files, the per-item and mean figures of bicubic / each single reference / canvas
// packing with a single-reference model and attention fusion with a multi-reference (MRefSR) one, and the CLI.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/temp.ts';
import { refsr } from './support/cli.ts';
import { scene, save } from './support/eval-fixtures.ts';
import { tinyModel, writeTinyMRefModelFile, writeTinyModelFile } from './support/tiny-model.ts';
import { crop, fromNCHW, padBottomRight } from '../src/image/layout.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { measure } from '../src/metrics/index.ts';
import { listGroups } from '../src/eval/groups.ts';
import { evaluateGroups, groupsCsv, prepareGroup, GROUPS_CSV_HEADER } from '../src/eval/evaluate-groups.ts';
import { superResolve } from '../src/pipeline/super-resolve.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { readImageFile } from '../src/image/decode.ts';

let items = '';
let scenes = '';
let cufed = '';

before(async () => {
  items = tempDir('refsr-groups-items-');
  for (const [k, name] of ['a', 'b'].entries()) {
    const big = scene(60, 52, 40 + k);
    await save(join(items, name, 'input.png'), crop(big, 0, 0, 40, 32));
    await save(join(items, name, 'r1.png'), crop(big, 8, 8, 48, 40));
    await save(join(items, name, 'r2.png'), crop(big, 16, 4, 36, 44));
    await save(join(items, name, 'r3.png'), scene(32, 36, 90 + k));
  }
  scenes = tempDir('refsr-groups-scenes-');
  for (const [s, n] of [['tower', 3], ['bridge', 2], ['alone', 1]] as const) {
    const big = scene(70, 60, s.length);
    for (let i = 0; i < n; i++) await save(join(scenes, s, `p${i}.png`), crop(big, 4 * i, 2 * i, 40, 36));
  }
  cufed = tempDir('refsr-groups-cufed-');
  for (const id of ['000', '001']) {
    const big = scene(56, 56, Number(id) + 7);
    await save(join(cufed, `${id}_0.png`), crop(big, 0, 0, 42, 38));
    for (let l = 1; l <= 5; l++) await save(join(cufed, `${id}_${l}.png`), crop(big, l, 2 * l, 44 - 2 * l, 40));
  }
});

test('groups layouts: items, scenes (each photo in turn, the others its references), cufed5; clear errors', () => {
  const it = listGroups(items, 'items');
  assert.deepEqual(it.map((g) => [g.name, g.refs.length]), [['a', 3], ['b', 3]]);
  assert.ok(it[0]!.hr.endsWith(join('a', 'input.png')));
  assert.deepEqual(listGroups(items, 'items', { maxRefs: 2, only: ['b'] }).map((g) => g.refs.map((r) => r.slice(-6))), [['r1.png', 'r2.png']]);
  const sc = listGroups(scenes, 'scenes');
  assert.deepEqual(sc.map((g) => g.name), ['bridge/p0', 'bridge/p1', 'tower/p0', 'tower/p1', 'tower/p2']);
  assert.deepEqual(sc[3]!.refs.map((r) => r.slice(-6)), ['p2.png', 'p0.png']);
  assert.deepEqual(listGroups(scenes, 'scenes', { maxRefs: 1, only: ['tower'] }).map((g) => g.refs.map((r) => r.slice(-6))), [['p1.png'], ['p2.png'], ['p0.png']]);
  const cu = listGroups(cufed, 'cufed5');
  assert.deepEqual(cu.map((g) => [g.name, g.refs.map((r) => r.slice(-9))]), [['000', ['000_1.png', '000_2.png', '000_3.png', '000_4.png', '000_5.png']], ['001', ['001_1.png', '001_2.png', '001_3.png', '001_4.png', '001_5.png']]]);
  assert.throws(() => listGroups(scenes, 'items'), /no input\.\* image/);
  assert.throws(() => listGroups(items, 'scenes', { only: ['nope'] }), /--only names nope, not found/);
  assert.throws(() => listGroups(items, 'cufed5'), /no groups found .*NNN_0\.png/);
  const broken = tempDir('refsr-groups-broken-');
  mkdirSync(join(broken, 'x'));
  assert.throws(() => listGroups(broken, 'items'), /no input\.\* image/);
});

test('groups eval, single-reference model: bicubic, each reference alone (the upscale chain), canvas; no fusion', async () => {
  const model = tinyModel();
  try {
    const list = listGroups(items, 'items');
    const rep = await evaluateGroups(model, list, { layout: 'items', dataset: items, model: 'tiny' }, { matching: 'exact' });
    assert.equal(rep.fusion, 'none');
    assert.equal(rep.items, 2);
    assert.equal(rep.references, 6);
    const a = rep.perItem[0]!;
    assert.deepEqual(a.refs, ['r1.png', 'r2.png', 'r3.png']);
    assert.equal(a.single.length, 3);
    assert.ok(a.canvas && !a.attention);
    assert.deepEqual(a.size, [40, 32]);
    // The single-reference figure is exactly the upscale chain on that reference.
    const gt = await readImageFile(list[0]!.hr);
    const lr = pilResizeBicubic(gt, 10, 8);
    const r2 = await readImageFile(list[0]!.refs[1]!);
    const sr = await superResolve(model, lr, pilResizeBicubic(lr, 40, 32), r2, { matching: 'exact' });
    assert.ok(Math.abs(measure(fromNCHW(sr.sr), gt).psnrY - a.single[1]!.psnrY) < 1e-9);
    assert.ok(Math.abs(measure(pilResizeBicubic(lr, 40, 32), gt).psnrY - a.bicubic.psnrY) < 1e-9);
    // Means: best single is the per-item maximum, the single mean lies between min and max.
    const best = rep.perItem.map((r) => Math.max(...r.single.map((m) => m.psnrY)));
    assert.ok(Math.abs(rep.mean.singleBest.psnrY - (best[0]! + best[1]!) / 2) < 1e-9);
    assert.ok(rep.mean.singleMean.psnrY <= rep.mean.singleBest.psnrY);
    assert.equal(rep.mean.attention, undefined);
    const csv = groupsCsv(rep).trim().split('\n');
    assert.equal(csv[0], GROUPS_CSV_HEADER);
    assert.equal(csv.length, 1 + 2 * (1 + 3 + 1));
    assert.match(csv[2]!, /^a,single,r1\.png,\d+\.\d{4},/);
  } finally {
    await model.release();
  }
});

test('groups eval, multi-reference model: attention fusion of all references next to the singles and the canvas', async () => {
  const model = await RefSRModel.load(await writeTinyMRefModelFile(), { threads: 2 });
  try {
    const rep = await evaluateGroups(model, listGroups(scenes, 'scenes', { only: ['tower'] }).slice(0, 1), { layout: 'scenes', dataset: scenes, model: 'tiny mref' }, { matching: 'exact' });
    assert.equal(rep.fusion, 'attention');
    assert.equal(rep.items, 1);
    for (const r of rep.perItem) {
      assert.equal(r.single.length, 2);
      assert.ok(r.canvas && r.attention && Number.isFinite(r.attention.psnrY));
    }
    assert.ok(rep.mean.attention);
    assert.match(groupsCsv(rep), /\ntower\/p0,attention,p1\.png p2\.png,/);
  } finally {
    await model.release();
  }
});

test('groups eval, cufed5 layout: input and its 5 references zero-padded to 500x500 as the official loader, LR from the padded input', async () => {
  const [item] = listGroups(cufed, 'cufed5', { only: ['000'] });
  const hr = await readImageFile(item!.hr);
  const refs = await Promise.all(item!.refs.map(async (f) => ({ image: await readImageFile(f), name: f })));
  const p = prepareGroup(hr, refs, 'cufed5', Infinity, '000');
  assert.deepEqual([p.gt.width, p.gt.height], [40, 36], 'mod-cropped ground truth');
  assert.deepEqual([p.lr.width, p.lr.height, p.up.width, p.up.height], [125, 125, 500, 500]);
  assert.deepEqual(p.lr, pilResizeBicubic(padBottomRight(p.gt, 500, 500), 125, 125));
  assert.equal(p.refs.length, 5);
  for (const [i, r] of p.refs.entries()) {
    assert.deepEqual([r.width, r.height], [500, 500]);
    assert.deepEqual(crop(r, 0, 0, refs[i]!.image.width, refs[i]!.image.height), crop(refs[i]!.image, 0, 0, refs[i]!.image.width, refs[i]!.image.height));
    assert.equal(r.data[(499 * 500 + 499) * 3], 0);
  }
  // The other layouts take the references as upscale does (own size, mod-cropped), the LR from the unpadded input.
  const q = prepareGroup(hr, refs, 'items', 4_000_000, '000');
  assert.deepEqual([q.lr.width, q.lr.height], [10, 9]);
  assert.deepEqual(q.refs.map((r) => [r.width, r.height]), refs.map((r) => [r.image.width - (r.image.width % 4), r.image.height - (r.image.height % 4)]));
});

test('groups eval: cufed5 refuses an image over 500 px', async () => {
  const dir = tempDir('refsr-groups-cufed-big-');
  await save(join(dir, '000_0.png'), scene(504, 20, 1));
  for (let l = 1; l <= 5; l++) await save(join(dir, `000_${l}.png`), scene(20, 20, l));
  const model = tinyModel();
  try {
    await assert.rejects(evaluateGroups(model, listGroups(dir, 'cufed5'), { layout: 'cufed5', dataset: dir, model: 'tiny' }), /000 input is 504x20; .*500x500/);
  } finally {
    await model.release();
  }
});

test('refsr eval --protocol groups: table of means on stdout, JSON and CSV reports; options checked', async () => {
  const modelPath = await writeTinyModelFile();
  const out = tempDir('refsr-groups-cli-');
  const r = refsr(['eval', scenes, '--protocol', 'groups', '--layout', 'scenes', '--only', 'bridge', '--model', modelPath, '--report', join(out, 'g.json'), '--csv', join(out, 'g.csv'), '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 items, 2 references \(scenes layout\)/);
  assert.match(r.stdout, /single reference, best +\d+\.\d{3} dB/);
  assert.match(r.stdout, /attention fusion +- \(.* single-reference model\)/);
  assert.match(r.stderr, /bridge\/p0 1\/2 +bicubic \d+\.\d\d +single \[\d+\.\d\d\]/);
  const rep = JSON.parse(readFileSync(join(out, 'g.json'), 'utf8'));
  assert.equal(rep.protocol, 'groups');
  assert.equal(rep.perItem.length, 2);
  assert.ok(existsSync(join(out, 'g.csv')));
  const bad = refsr(['eval', scenes, '--protocol', 'wrsr', '--max-refs', '2']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--max-refs applies to the groups protocol only/);
});
