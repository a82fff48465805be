// Owns the self-contained HTML report of an evaluation run: summary table (refsr vs bicubic, per CUFED5 level when
// present), inline SVG charts (PSNR-Y gain over bicubic per image and per level, with 0 = bicubic as the axis
// start; SSIM-Y per image), a per-image figures table, and a pictures table with embedded PNG thumbnails
// (reference and ground-truth overviews with the detail window marked, and the same detail crop of bicubic / refsr /
// ground truth), each kind of picture labelled once in its column header. Laid out for a 1200 px window (charts at
// most MAX_CHART_WIDTH wide, tables within the page). No external resources: one file that opens anywhere.
// Written atomically.

import { directOutput, type OutputSink } from '../io/atomic-write.ts';
import { barChartSvg } from '../viz/charts.ts';
import { esc } from '../viz/raster.ts';
import type { EvalReport, ImageResult } from '../eval/evaluate.ts';
import type { Thumbnails } from './thumbnails.ts';

export function thumbnailKey(r: { name: string; level?: number }): string {
  return `${r.name}|${r.level ?? ''}`;
}

const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const n4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : 'n/a');

/** Widest chart: the page fits a 1200 px window with its margins. */
export const MAX_CHART_WIDTH = 1100;

const CSS = `
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:24px auto;padding:0 16px;max-width:1136px;color:#111;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;font-size:13px;margin-bottom:12px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:middle}
th{background:#f0f0f0} td.l,th.l{text-align:left}
.gain-pos{color:#1a7f1a} .gain-neg{color:#b00020}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg{display:block;max-width:100%;height:auto}
#pictures td{vertical-align:top;text-align:center}
#pictures img{display:block;border:1px solid #999;max-width:180px;height:auto;margin:auto}
#pictures img.crop{width:128px;height:128px;image-rendering:pixelated}
.ov{position:relative;display:inline-block}
.ov .win{position:absolute;border:2px solid #ff2d2d;box-sizing:border-box}
`;

function summaryTable(r: EvalReport): string {
  const rows = [`<tr><th class="l">method</th><th>PSNR-Y (dB)</th><th>SSIM-Y</th><th>PSNR-RGB (dB)</th></tr>`,
    `<tr><td class="l">refsr</td><td>${n2(r.mean.refsr.psnrY)}</td><td>${n4(r.mean.refsr.ssimY)}</td><td>${n2(r.mean.refsr.psnrRgb)}</td></tr>`,
    `<tr><td class="l">bicubic</td><td>${n2(r.mean.bicubic.psnrY)}</td><td>${n4(r.mean.bicubic.ssimY)}</td><td>${n2(r.mean.bicubic.psnrRgb)}</td></tr>`];
  let out = `<table id="summary">${rows.join('')}</table><p class="meta">${r.images} image runs, ${r.mean.seconds.toFixed(2)} s per image (refsr)</p>`;
  if (r.byLevel?.length) {
    out += `<h2>By reference level</h2><table id="levels"><tr><th>level</th><th>images</th><th>refsr PSNR-Y</th><th>refsr SSIM-Y</th><th>bicubic PSNR-Y</th><th>bicubic SSIM-Y</th><th>gain (dB)</th></tr>`;
    for (const l of r.byLevel) {
      const gain = l.refsr.psnrY - l.bicubic.psnrY;
      out += `<tr><td>${l.level}</td><td>${l.images}</td><td>${n2(l.refsr.psnrY)}</td><td>${n4(l.refsr.ssimY)}</td><td>${n2(l.bicubic.psnrY)}</td><td>${n4(l.bicubic.ssimY)}</td><td class="${gain >= 0 ? 'gain-pos' : 'gain-neg'}">${signed(gain)}</td></tr>`;
    }
    out += '</table>';
  }
  return out;
}

function charts(r: EvalReport): string {
  const label = (i: ImageResult) => (i.level !== undefined ? `${i.name}/L${i.level}` : i.name);
  const per = r.perImage;
  const width = Math.min(MAX_CHART_WIDTH, Math.max(560, 90 + per.length * 28));
  // PSNR as the gain over bicubic: the axis starts at 0 = bicubic, never at an arbitrary value that exaggerates gaps.
  const out: string[] = [barChartSvg({
    title: 'PSNR-Y gain of refsr over bicubic per image', categories: per.map(label), yLabel: 'gain over bicubic (dB)', width, height: 340,
    series: [{ name: 'refsr - bicubic', values: per.map((i) => i.refsr.psnrY - i.bicubic.psnrY), color: '#d62728' }],
  }).svg, barChartSvg({
    title: 'SSIM-Y per image', categories: per.map(label), yLabel: 'SSIM-Y', width, height: 300, yMin: 'auto', decimals: 3,
    series: [{ name: 'refsr', values: per.map((i) => i.refsr.ssimY), color: '#d62728' }, { name: 'bicubic', values: per.map((i) => i.bicubic.ssimY), color: '#7f7f7f' }],
  }).svg];
  if (r.byLevel?.length) {
    out.push(barChartSvg({
      title: 'PSNR-Y gain over bicubic by reference level', categories: r.byLevel.map((l) => `level ${l.level}`), yLabel: 'gain over bicubic (dB)', width: 560, height: 320,
      series: [{ name: 'refsr - bicubic', values: r.byLevel.map((l) => l.refsr.psnrY - l.bicubic.psnrY), color: '#d62728' }],
    }).svg);
  }
  return `<div class="charts">${out.join('\n')}</div>`;
}

function pictureCells(t: Thumbnails): string {
  const [ow, oh] = t.overviewSize;
  const sx = ow / t.gtSize[0];
  const sy = oh / t.gtSize[1];
  const win = `left:${(t.window.x * sx).toFixed(1)}px;top:${(t.window.y * sy).toFixed(1)}px;width:${Math.max(4, t.window.size * sx).toFixed(1)}px;height:${Math.max(4, t.window.size * sy).toFixed(1)}px`;
  return `<td><img src="${t.ref}" alt="reference"></td>`
    + `<td><span class="ov"><img src="${t.overview}" width="${ow}" height="${oh}" alt="ground truth"><span class="win" style="${win}"></span></span></td>`
    + `<td><img class="crop" src="${t.bicubic}" alt="bicubic crop"></td><td><img class="crop" src="${t.refsr}" alt="refsr crop"></td><td><img class="crop" src="${t.gt}" alt="ground-truth crop"></td>`;
}

function rowLabel(i: ImageResult): string {
  return `${esc(i.name)}${i.level !== undefined ? ` L${i.level}` : ''}`;
}

function imageTable(r: EvalReport): string {
  const levels = r.perImage.some((i) => i.level !== undefined);
  const head = `<tr><th class="l">image</th><th class="l">reference file</th>${levels ? '<th>level</th>' : ''}<th>size</th><th>refsr PSNR-Y</th><th>refsr SSIM-Y</th><th>bicubic PSNR-Y</th><th>bicubic SSIM-Y</th><th>gain</th><th>time (s)</th></tr>`;
  const rows = r.perImage.map((i) => {
    const gain = i.refsr.psnrY - i.bicubic.psnrY;
    return `<tr><td class="l">${esc(i.name)}</td><td class="l">${esc(i.ref)}</td>${levels ? `<td>${i.level ?? ''}</td>` : ''}<td>${i.size[0]}x${i.size[1]}</td><td>${n2(i.refsr.psnrY)}</td><td>${n4(i.refsr.ssimY)}</td><td>${n2(i.bicubic.psnrY)}</td><td>${n4(i.bicubic.ssimY)}</td><td class="${gain >= 0 ? 'gain-pos' : 'gain-neg'}">${signed(gain)}</td><td>${i.seconds.toFixed(2)}</td></tr>`;
  });
  return `<table id="images">${head}${rows.join('\n')}</table>`;
}

/** One row of pictures per image run; the column headers name each kind of picture once. */
function pictureTable(r: EvalReport, thumbs: ReadonlyMap<string, Thumbnails>): string {
  const rows = r.perImage.flatMap((i) => {
    const t = thumbs.get(thumbnailKey(i));
    return t ? [`<tr><td class="l">${rowLabel(i)}</td>${pictureCells(t)}</tr>`] : [];
  });
  if (rows.length === 0) return '';
  const head = '<tr><th class="l">image</th><th>reference</th><th>ground truth (red: detail window)</th><th>bicubic detail</th><th>refsr detail</th><th>ground-truth detail</th></tr>';
  return `<h2>Pictures</h2><p class="meta">Detail crops are enlarged to 128 px (pixelated).</p><table id="pictures">${head}${rows.join('\n')}</table>`;
}

export function renderEvalHtml(r: EvalReport, thumbs: ReadonlyMap<string, Thumbnails> = new Map(), opts: { generated?: Date } = {}): string {
  const when = (opts.generated ?? new Date()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>refsr evaluation: ${esc(r.protocol)} on ${esc(r.dataset)}</title><style>${CSS}</style></head>
<body>
<h1>refsr evaluation: ${esc(r.protocol)}</h1>
<div class="meta">dataset <b>${esc(r.dataset)}</b> &middot; model <b>${esc(r.model)}</b> &middot; generated ${esc(when)}<br>
Protocol: HR mod-cropped to 4, LR = Pillow bicubic /4, bicubic baseline = Pillow bicubic x4 of the same LR; PSNR/SSIM on Y, 4 px border cropped.</div>
<h2>Summary</h2>
${summaryTable(r)}
<h2>Charts</h2>
${charts(r)}
<h2>Per image</h2>
${imageTable(r)}
${pictureTable(r, thumbs)}
</body></html>
`;
}

export async function writeEvalHtml(path: string, r: EvalReport, thumbs: ReadonlyMap<string, Thumbnails>, out: OutputSink = directOutput): Promise<void> {
  await out.write(path, renderEvalHtml(r, thumbs));
}
