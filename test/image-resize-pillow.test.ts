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

// The whole protocol chain of RefCUFEDDataset (mod-crop to 4, zero-pad HR and reference bottom/right to a common
// size, LR = bicubic /4 of the padded HR, up = bicubic x4 of LR), computed by Pillow itself: the eval protocol's
// LR, upsampled input and padded reference must equal it byte for byte, for inputs larger and smaller than the
// reference and sizes that are not multiples of 4.
const PROTOCOL_SCRIPT = `
import sys
from PIL import Image
data = sys.stdin.buffer.read()
head, _, body = data.partition(b'\\n')
hw, hh, rw, rh = map(int, head.split())
hr = Image.frombytes('RGB', (hw, hh), bytes(body[:hw * hh * 3]))
ref = Image.frombytes('RGB', (rw, rh), bytes(body[hw * hh * 3:]))
hr = hr.crop((0, 0, hw - hw % 4, hh - hh % 4)); ref = ref.crop((0, 0, rw - rw % 4, rh - rh % 4))
W = max(hr.width, ref.width); H = max(hr.height, ref.height)
def pad(im):
    out = Image.new('RGB', (W, H)); out.paste(im, (0, 0)); return out
phr, pref = pad(hr), pad(ref)
lr = phr.resize((W // 4, H // 4), Image.BICUBIC)
up = lr.resize((W, H), Image.BICUBIC)
sys.stdout.buffer.write(b'%d %d\\n' % (W, H) + lr.tobytes() + up.tobytes() + pref.tobytes())
`;

test('the eval protocol\'s LR, upsampled input and padded reference equal Pillow\'s RefCUFEDDataset chain', { skip: pillowSkip }, async () => {
  const { prepareProtocol } = await import('../src/pipeline/protocol.ts');
  for (const [hw, hh, rw, rh, seed] of [[49, 38, 62, 31, 1], [66, 53, 41, 47, 2], [40, 32, 40, 32, 3]] as const) {
    const hr = testImage(hw, hh, 200 + seed);
    const ref = testImage(rw, rh, 300 + seed);
    const r = spawnSync(PYTHON, ['-c', PROTOCOL_SCRIPT], { input: Buffer.concat([Buffer.from(`${hw} ${hh} ${rw} ${rh}\n`), Buffer.from(hr.data), Buffer.from(ref.data)]), maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr?.toString());
    const nl = r.stdout.indexOf(10);
    const [W, H] = r.stdout.subarray(0, nl).toString().split(' ').map(Number) as [number, number];
    const body = r.stdout.subarray(nl + 1);
    const lrN = (W / 4) * (H / 4) * 3;
    const p = prepareProtocol(hr, ref);
    const what = `HR ${hw}x${hh}, reference ${rw}x${rh}`;
    assert.deepEqual([p.lr.width, p.lr.height, p.up.width, p.up.height, p.ref.width, p.ref.height], [W / 4, H / 4, W, H, W, H], what);
    assert.deepEqual([p.gt.width, p.gt.height], [hw - (hw % 4), hh - (hh % 4)], `${what}: ground truth is the unpadded mod-crop`);
    assert.ok(Buffer.from(p.lr.data).equals(body.subarray(0, lrN)), `${what}: LR differs from Pillow`);
    assert.ok(Buffer.from(p.up.data).equals(body.subarray(lrN, lrN + W * H * 3)), `${what}: upsampled input differs from Pillow`);
    assert.ok(Buffer.from(p.ref.data).equals(body.subarray(lrN + W * H * 3)), `${what}: padded reference differs from Pillow`);
  }
});
