// Owns line charts as standalone SVG (training curves: a figure against the step): several series over one numeric
// x axis, nice ticks on both axes, a legend, points marked, gaps where a series has no value; past the palette's
// six colours a series is dashed.

import { esc } from './raster.ts';
import { SERIES_COLORS } from './colors.ts';
import type { Svg } from './charts.ts';

export interface LineSeries {
  readonly name: string;
  /** [x, y] points in x order; a non-finite y leaves a gap. */
  readonly points: readonly (readonly [number, number])[];
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly series: readonly LineSeries[];
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

function ticks(lo: number, hi: number, n: number): { lo: number; hi: number; step: number } {
  const raw = (hi - lo) / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
}

const fmt = (v: number, step: number) => v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));

export function lineChartSvg(o: LineChartOptions): Svg {
  const width = o.width ?? 720;
  const height = o.height ?? 360;
  const left = 64;
  const right = 16;
  const top = 40;
  const bottom = 48 + 18 * Math.ceil(o.series.length / 3);
  const pts = o.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yMin = ys.length ? Math.min(...ys) : 0;
  const yMax = ys.length ? Math.max(...ys) : 1;
  const xt = ticks(xMin, xMax > xMin ? xMax : xMin + 1, 6);
  const pad = Math.max(yMax - yMin, Math.abs(yMax) * 0.02, 1e-6) * 0.08;
  const yt = ticks(yMin - pad, yMax + pad, 5);
  const pw = width - left - right;
  const ph = height - top - bottom;
  const X = (x: number) => left + ((x - xt.lo) / (xt.hi - xt.lo || 1)) * pw;
  const Y = (y: number) => top + ph - ((y - yt.lo) / (yt.hi - yt.lo || 1)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-family="sans-serif" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  for (let v = yt.lo; v <= yt.hi + yt.step / 2; v += yt.step) {
    parts.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" font-family="sans-serif" font-size="11">${fmt(v, yt.step)}</text>`);
  }
  for (let v = xt.lo; v <= xt.hi + xt.step / 2; v += xt.step) {
    parts.push(`<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${top + ph}" y2="${top + ph + 4}" stroke="#444"/>`);
    parts.push(`<text x="${X(v).toFixed(1)}" y="${top + ph + 17}" text-anchor="middle" font-family="sans-serif" font-size="11">${fmt(v, xt.step)}</text>`);
  }
  if (yt.lo < 0 && yt.hi > 0) parts.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(0).toFixed(1)}" y2="${Y(0).toFixed(1)}" stroke="#888"/>`);
  parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  if (o.xLabel) parts.push(`<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle" font-family="sans-serif" font-size="12">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="12">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]!;
    // Past the palette, the colours repeat with a dashed line.
    const dash = !s.color && i >= SERIES_COLORS.length ? ' stroke-dasharray="6 4"' : '';
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${X(x).toFixed(1)} ${Y(y).toFixed(1)} `;
      pen = true;
      parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    if (d) parts.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const lx = left + (i % 3) * (pw / 3);
    const ly = top + ph + 50 + 18 * Math.floor(i / 3);
    parts.push(`<line x1="${lx.toFixed(1)}" x2="${(lx + 16).toFixed(1)}" y1="${ly - 7}" y2="${ly - 7}" stroke="${color}" stroke-width="3"${dash.replace('6 4', '4 3')}/><text x="${(lx + 20).toFixed(1)}" y="${ly - 3}" font-family="sans-serif" font-size="12">${esc(s.name)}</text>`);
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="#ffffff"/>${parts.join('')}</svg>`;
  return { width, height, svg };
}
