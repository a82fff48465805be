// Cross-checks refsr's Pillow bicubic against Debian's Pillow itself (python3-pil) on sizes and ratios the golden
// `resize` case does not cover: odd sizes, non-integer ratios, tiny images, noise that hits the uint8 clamps.
// Skips with a message when /usr/bin/python3 with PIL is absent (.ci/run installs python3-pil).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';
import { Rng } from '../src/random/rng.ts';
import { prerequisite } from './support/shared.ts';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import PIL.Image'], { encoding: 'utf8' });
const pillowSkip = prerequisite(probe.status === 0, `Debian's Pillow is absent (${PYTHON} -c "import PIL.Image" failed); apt-get install python3-pil to run this cross-check`);

// Reads "w h ow oh" then w*h*3 bytes per job from stdin; writes each resized image's bytes.
const RESIZE_SCRIPT = `
import sys
from PIL import Image
data = sys.stdin.buffer.read()
head, _, body = data.partition(b'\\n')
jobs = [tuple(map(int, j.split())) for j in head.decode().split(';')]
out = bytearray(); pos = 0
for w, h, ow, oh in jobs:
    img = Image.frombytes('RGB', (w, h), bytes(body[pos:pos + w * h * 3])); pos += w * h * 3
    out += img.resize((ow, oh), Image.BICUBIC).tobytes()
sys.stdout.buffer.write(bytes(out))
`;

function pillowResize(jobs: { img: RgbImage; ow: number; oh: number }[]): Uint8Array[] {
  const head = jobs.map((j) => `${j.img.width} ${j.img.height} ${j.ow} ${j.oh}`).join(';');
  const input = Buffer.concat([Buffer.from(head + '\n'), ...jobs.map((j) => Buffer.from(j.img.data))]);
  const r = spawnSync(PYTHON, ['-c', RESIZE_SCRIPT], { input, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const outs: Uint8Array[] = [];
  let pos = 0;
  for (const j of jobs) {
    const n = j.ow * j.oh * 3;
    outs.push(new Uint8Array(r.stdout.subarray(pos, pos + n)));
    pos += n;
  }
  assert.equal(pos, r.stdout.length, 'Pillow returned an unexpected number of bytes');
  return outs;
}

/** Half smooth gradient, half uniform noise: exercises both interpolation and the 0/255 clamps. */
function testImage(w: number, h: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    const smooth = 127.5 + 127.5 * Math.sin((x + 2 * c) / 3.1) * Math.cos(y / 4.3);
    img.data[(y * w + x) * 3 + c] = x < w / 2 ? Math.round(smooth) : Math.floor(rng.uniform() * 256);
  }
  return img;
}

test('PIL bicubic equals Pillow bit for bit at odd sizes and non-integer ratios', { skip: pillowSkip }, () => {
  const sizes: [number, number, number, number][] = [
    [93, 125, 23, 31], [23, 31, 92, 124], [37, 50, 9, 12], [101, 67, 25, 16], [50, 40, 33, 27],
    [7, 5, 29, 21], [3, 3, 12, 12], [64, 48, 64, 12], [64, 48, 17, 48], [200, 9, 50, 2], [13, 17, 13, 17],
  ];
  const jobs = sizes.map(([w, h, ow, oh], i) => ({ img: testImage(w, h, 100 + i), ow, oh }));
  const want = pillowResize(jobs);
  jobs.forEach((j, i) => {
    const got = pilResizeBicubic(j.img, j.ow, j.oh);
    let diff = 0;
    for (let k = 0; k < got.data.length; k++) if (got.data[k] !== want[i]![k]) diff++;
    assert.equal(diff, 0, `${j.img.width}x${j.img.height} -> ${j.ow}x${j.oh}: ${diff} bytes differ from Pillow`);
  });
});
