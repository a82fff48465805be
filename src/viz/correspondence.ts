// Owns the correspondence picture (`refsr match --viz`, the paper's Figure 1): the bicubic-upsampled input and the
// reference side by side with a sample of correspondence lines (confident matches spread over the image, one colour
// each), and under them the matched flow on the colour wheel and the matching confidence (best score per position,
// viridis), with legends. Works for any input/reference sizes; panels are scaled for display only.
//
// Geometry: feature cell c covers image pixels 4c..4c+3 (centre 4c + 1.5); input patch (y, x) is centred on cell
// (y + 1, x + 1) and matched reference patch p on cell (floor(p / (refW - 2)) + 1, p mod (refW - 2) + 1).

import type { MatchIndex } from '../matching/pre-offset.ts';
import { rgbImage, type RgbImage } from '../image/rgb-image.ts';
import { canvas, encodePng, esc, paste, resizeForDisplay, resizeNearest } from './raster.ts';
import { distinctColor, flowColor, hex, viridis } from './colors.ts';

export interface Correspondence {
  /** Input and matched reference positions in image pixels (patch centres). */
  readonly inX: number;
  readonly inY: number;
  readonly refX: number;
  readonly refY: number;
  readonly score: number;
}

const cellCentre = (c: number) => 4 * c + 1.5;

/** The correspondence of input patch position k (row-major over the (h-2) x (w-2) patch grid). */
export function correspondenceAt(m: MatchIndex, k: number): Correspondence {
  const pw = m.w - 2;
  const rpw = m.refW - 2;
  const p = m.index[k]!;
  return {
    inX: cellCentre((k % pw) + 1), inY: cellCentre(Math.floor(k / pw) + 1),
    refX: cellCentre((p % rpw) + 1), refY: cellCentre(Math.floor(p / rpw) + 1),
    score: m.score ? m.score[k]! : 0,
  };
}

/**
 * Texture of every input patch position (row-major over the (h-2) x (w-2) patch grid): mean absolute luma gradient
 * over the patch's 12 x 12 pixels of the upsampled input. Flat regions (sky, walls) match "confidently" anywhere, so
 * lines are drawn only from textured positions.
 */
export function patchTexture(up: RgbImage, m: MatchIndex): Float32Array {
  const { width: W, height: H, data } = up;
  const luma = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) luma[i] = 0.299 * data[3 * i]! + 0.587 * data[3 * i + 1]! + 0.114 * data[3 * i + 2]!;
  const pw = m.w - 2;
  const out = new Float32Array((m.h - 2) * pw);
  for (let y = 0; y < m.h - 2; y++) for (let x = 0; x < pw; x++) {
    let g = 0;
    let n = 0;
    for (let py = 4 * y; py < Math.min(H - 1, 4 * y + 12); py++) for (let px = 4 * x; px < Math.min(W - 1, 4 * x + 12); px++) {
      g += Math.abs(luma[py * W + px + 1]! - luma[py * W + px]!) + Math.abs(luma[(py + 1) * W + px]! - luma[py * W + px]!);
      n++;
    }
    out[y * pw + x] = n ? g / n : 0;
  }
  return out;
}

/**
 * About `n` confident correspondences spread over the input: the patch grid is cut into about 3n blocks, each block
 * offers its best-scoring position (among positions at least as textured as the median when `texture` is given),
 * and the n best offers are kept (ties to the earlier position).
 */
export function selectLines(m: MatchIndex, n = 40, texture?: Float32Array): Correspondence[] {
  const ph = m.h - 2;
  const pw = m.w - 2;
  if (ph < 1 || pw < 1 || n < 1) return [];
  let minTexture = -Infinity;
  if (texture) {
    const sorted = Float32Array.from(texture).sort();
    minTexture = sorted[Math.floor(0.5 * (sorted.length - 1))]!;
  }
  const blocks = Math.min(ph * pw, Math.max(n, 3 * n));
  const by = Math.max(1, Math.round(Math.sqrt((blocks * ph) / pw)));
  const bx = Math.max(1, Math.round(blocks / by));
  const score = (k: number) => m.score?.[k] ?? 0;
  const offers: number[] = [];
  for (let j = 0; j < by; j++) {
    for (let i = 0; i < bx; i++) {
      const y0 = Math.floor((j * ph) / by);
      const y1 = Math.floor(((j + 1) * ph) / by);
      const x0 = Math.floor((i * pw) / bx);
      const x1 = Math.floor(((i + 1) * pw) / bx);
      let best = -1;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
        const k = y * pw + x;
        if (texture && texture[k]! < minTexture) continue;
        if (best < 0 || score(k) > score(best)) best = k;
      }
      if (best >= 0) offers.push(best);
    }
  }
  offers.sort((a, b) => score(b) - score(a) || a - b);
  return offers.slice(0, n).sort((a, b) => a - b).map((k) => correspondenceAt(m, k));
}

/** Flow of every input cell on the colour wheel (h x w cells; cells without a patch centre are grey). */
export function flowPicture(m: MatchIndex): { image: RgbImage; maxMagnitude: number } {
  const pw = m.w - 2;
  const mags: number[] = [];
  const disp = (k: number) => {
    const c = correspondenceAt(m, k);
    return [(c.refX - c.inX) / 4, (c.refY - c.inY) / 4] as const;
  };
  const n = (m.h - 2) * pw;
  for (let k = 0; k < n; k++) { const [dx, dy] = disp(k); mags.push(Math.hypot(dx, dy)); }
  mags.sort((a, b) => a - b);
  const maxMagnitude = Math.max(1, mags[Math.floor(0.98 * (mags.length - 1))] ?? 1);
  const img = rgbImage(m.w, m.h);
  img.data.fill(160);
  for (let k = 0; k < n; k++) {
    const [dx, dy] = disp(k);
    img.data.set(flowColor(dx, dy, maxMagnitude), ((Math.floor(k / pw) + 1) * m.w + (k % pw) + 1) * 3);
  }
  return { image: img, maxMagnitude };
}

/** Best score of every input cell on viridis between the score range's ends (h x w cells; no patch centre: grey). */
export function confidencePicture(m: MatchIndex): { image: RgbImage; lo: number; hi: number } {
  const pw = m.w - 2;
  const n = (m.h - 2) * pw;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) { const s = m.score?.[k] ?? 0; lo = Math.min(lo, s); hi = Math.max(hi, s); }
  if (!(hi > lo)) { hi = lo + 1e-6; }
  const img = rgbImage(m.w, m.h);
  img.data.fill(160);
  for (let k = 0; k < n; k++) {
    img.data.set(viridis(((m.score?.[k] ?? 0) - lo) / (hi - lo)), ((Math.floor(k / pw) + 1) * m.w + (k % pw) + 1) * 3);
  }
  return { image: img, lo, hi };
}

function colourWheel(size: number): RgbImage {
  const img = canvas(size, size);
  const r = size / 2 - 1;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const dx = x + 0.5 - size / 2;
    const dy = y + 0.5 - size / 2;
    if (Math.hypot(dx, dy) <= r) img.data.set(flowColor(dx, dy, r), (y * size + x) * 3);
  }
  return img;
}

function colourBar(w: number, h: number): RgbImage {
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) {
    const c = viridis(1 - y / Math.max(1, h - 1));
    for (let x = 0; x < w; x++) img.data.set(c, (y * w + x) * 3);
  }
  return img;
}

export interface MatchPictureInput {
  /** The bicubic-upsampled input the matcher saw (4h x 4w). */
  readonly up: RgbImage;
  /** The reference the matcher saw. */
  readonly ref: RgbImage;
  readonly match: MatchIndex;
  /** Number of correspondence lines (default 40). */
  readonly lines?: number;
  /** Shown in the picture's heading. */
  readonly title?: string;
}

export interface MatchPicture {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly lines: Correspondence[];
  readonly maxFlow: number;
  readonly scoreRange: [number, number];
}

export async function renderMatchPicture(inp: MatchPictureInput): Promise<MatchPicture> {
  const { up, ref, match } = inp;
  const lines = selectLines(match, inp.lines ?? 40, patchTexture(up, match));
  const H = Math.round(Math.min(480, Math.max(200, up.height)));
  const su = H / up.height;
  const sr = H / ref.height;
  const upD = resizeForDisplay(up, up.width * su, H);
  const refD = resizeForDisplay(ref, ref.width * sr, H);
  const flow = flowPicture(match);
  const conf = confidencePicture(match);
  // Cell maps drawn at the display scale of the input (a cell is 4 input pixels).
  const flowD = resizeNearest(flow.image, upD.width, upD.height);
  const confD = resizeNearest(conf.image, upD.width, upD.height);
  const pad = 12;
  const gap = 16;
  const head = 22;
  const legend = Math.max(64, Math.min(120, Math.round(H / 3)));
  const topW = upD.width + gap + refD.width;
  const botW = 2 * upD.width + gap + gap + legend + 70;
  const W = pad * 2 + Math.max(topW, botW);
  const titleH = inp.title ? 24 : 0;
  const row1 = pad + titleH + head;
  const row2 = row1 + H + head + 8;
  const Htot = row2 + H + pad + 18;
  const img = canvas(W, Htot, [255, 255, 255]);
  const xUp = pad;
  const xRef = pad + upD.width + gap;
  paste(img, upD, xUp, row1);
  paste(img, refD, xRef, row1);
  const xFlow = pad;
  const xConf = pad + upD.width + gap;
  const xLeg = xConf + upD.width + gap;
  paste(img, flowD, xFlow, row2);
  paste(img, confD, xConf, row2);
  paste(img, colourWheel(legend), xLeg, row2);
  const barH = Math.max(40, H - legend - 40);
  paste(img, colourBar(16, barH), xLeg, row2 + legend + 30);
  const svg: string[] = [];
  const text = (x: number, y: number, s: string, size = 13, anchor = 'start', weight = 'normal') =>
    svg.push(`<text x="${x}" y="${y}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="#111">${esc(s)}</text>`);
  if (inp.title) text(pad, pad + 16, inp.title, 15, 'start', 'bold');
  text(xUp, row1 - 6, `input, bicubic x4 (${up.width}x${up.height})`);
  text(xRef, row1 - 6, `reference (${ref.width}x${ref.height})`);
  text(xFlow, row2 - 6, `matched flow (cells; saturated at ${flow.maxMagnitude.toFixed(1)})`);
  text(xConf, row2 - 6, `confidence (best score ${conf.lo.toFixed(2)}..${conf.hi.toFixed(2)})`);
  text(xLeg, row2 + legend + 14, 'flow direction', 11);
  text(xLeg + 22, row2 + legend + 40, conf.hi.toFixed(2), 11);
  text(xLeg + 22, row2 + legend + 30 + barH, conf.lo.toFixed(2), 11);
  for (const [i, l] of lines.entries()) {
    const c = hex(distinctColor(i));
    const x1 = (xUp + l.inX * su).toFixed(1);
    const y1 = (row1 + l.inY * su).toFixed(1);
    const x2 = (xRef + l.refX * sr).toFixed(1);
    const y2 = (row1 + l.refY * sr).toFixed(1);
    svg.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#000" stroke-opacity="0.55" stroke-width="3.2"/>`);
    svg.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${c}" stroke-width="1.6"/>`);
    svg.push(`<circle cx="${x1}" cy="${y1}" r="3" fill="${c}" stroke="#000" stroke-width="0.8"/><circle cx="${x2}" cy="${y2}" r="3" fill="${c}" stroke="#000" stroke-width="0.8"/>`);
  }
  const meanScore = match.score ? match.score.reduce((a, b) => a + b, 0) / Math.max(1, match.score.length) : 0;
  text(pad, Htot - 8, `${lines.length} lines from the most confident textured positions of ${(match.h - 2) * (match.w - 2)} (one per image block); mean score ${meanScore.toFixed(3)}`, 11);
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Htot}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">${svg.join('')}</svg>`;
  const png = await encodePng(img, overlay);
  return { png, width: W, height: Htot, lines, maxFlow: flow.maxMagnitude, scoreRange: [conf.lo, conf.hi] };
}
