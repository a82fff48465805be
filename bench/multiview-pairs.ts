// Builds the multi-view evaluation set from ../shared/data/multiview (six scenes, several photographs of one place
// each, taken from other viewpoints and scales): every photograph is an input, and the next photograph of its scene
// (in name order, cyclically) its reference. Photos are resized to a long side of --side px (default 512, Lanczos, by
// sharp) so an eval of all pairs stays a few minutes on the CPU; the ground truth is that resized photo and the
// protocol makes LR from it (Pillow bicubic /4). Pairs are listed round-robin over the scenes, so `--shuffle-refs`
// (each input gets the next pair's reference) always gives a reference of another scene.
// Writes DIR/input/*.png, DIR/ref/*.png (the same files), DIR/pairs.txt (all scenes), DIR/train_pairs.txt (the scenes
// restoration training draws from) and DIR/heldout_pairs.txt (--held-out scene, default london_bridge, never trained on).
// Usage: npx tsx bench/multiview-pairs.ts --out DIR [--data ../shared/data/multiview] [--side 512] [--held-out london_bridge]
// Then: refsr eval DIR --pairs DIR/pairs.txt [--shuffle-refs]

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = flag('--data') ?? resolve(repoRoot, '..', 'shared', 'data', 'multiview');
const out = flag('--out');
const side = Number(flag('--side') ?? 512);
const heldOut = flag('--held-out') ?? 'london_bridge';
if (!out) {
  process.stderr.write('usage: npx tsx bench/multiview-pairs.ts --out DIR [--data MULTIVIEW] [--side 512] [--held-out SCENE]\n');
  process.exit(2);
}

const scenes = readdirSync(data, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
const lists = new Map<string, { input: string; ref: string }[]>();
mkdirSync(join(out, 'input'), { recursive: true });
mkdirSync(join(out, 'ref'), { recursive: true });
for (const scene of scenes) {
  const photos = readdirSync(join(data, scene)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  if (photos.length < 2) continue;
  const names: string[] = [];
  for (const p of photos) {
    const name = `${scene}__${p.replace(/\.[^.]+$/, '')}.png`;
    const buf = await sharp(join(data, scene, p)).rotate().resize(side, side, { fit: 'inside', kernel: 'lanczos3' }).png().toBuffer();
    writeFileSync(join(out, 'input', name), buf);
    writeFileSync(join(out, 'ref', name), buf);
    names.push(name);
  }
  lists.set(scene, names.map((n, i) => ({ input: n, ref: names[(i + 1) % names.length]! })));
}

/** Round-robin over scenes, so neighbouring lines are from different scenes wherever possible. */
function interleave(which: string[]): string {
  const queues = which.map((s) => [...lists.get(s)!]);
  const lines: string[] = [];
  while (queues.some((q) => q.length)) for (const q of queues) { const p = q.shift(); if (p) lines.push(`${p.input} ${p.ref}`); }
  return `${lines.join('\n')}\n`;
}
const all = [...lists.keys()];
writeFileSync(join(out, 'pairs.txt'), interleave(all));
writeFileSync(join(out, 'train_pairs.txt'), interleave(all.filter((s) => s !== heldOut)));
if (lists.has(heldOut)) writeFileSync(join(out, 'heldout_pairs.txt'), interleave([heldOut]));
console.log(JSON.stringify({ out, side, scenes: Object.fromEntries([...lists].map(([s, l]) => [s, l.length])), heldOut }));
