// Builds the multi-view groups evaluation set from ../shared/data/multiview (six scenes, several photographs of one
// place each): DIR/SCENE/NAME.png, every photo resized to a long side of --side px (default 512, Lanczos, by sharp, as
// bench/multiview-pairs.ts) so a groups eval of all scenes stays minutes on the CPU. The groups protocol's `scenes`
// layout then makes each photo in turn the input and the other photos of its scene its references.
// Usage: npx tsx bench/multiview-groups.ts --out DIR [--data ../shared/data/multiview] [--side 512]
// Then:  refsr eval DIR --protocol groups --layout scenes [--max-refs 3] [--only london_bridge] --matching auto

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
if (!out) {
  process.stderr.write('usage: npx tsx bench/multiview-groups.ts --out DIR [--data MULTIVIEW] [--side 512]\n');
  process.exit(2);
}
const counts: Record<string, number> = {};
for (const scene of readdirSync(data, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
  const photos = readdirSync(join(data, scene)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  mkdirSync(join(out, scene), { recursive: true });
  for (const p of photos) {
    const buf = await sharp(join(data, scene, p)).rotate().resize(side, side, { fit: 'inside', kernel: 'lanczos3' }).png().toBuffer();
    writeFileSync(join(out, scene, `${p.replace(/\.[^.]+$/, '')}.png`), buf);
  }
  counts[scene] = photos.length;
}
console.log(JSON.stringify({ out, side, scenes: counts }));
