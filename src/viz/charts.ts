// Owns refsr's charts as standalone SVG (inlined in HTML reports, rendered to PNG by sharp): grouped bar charts with
// a value axis that need not start at 0 (PSNR), value labels, a legend, and rotated category labels when there are
// many; plus side-by-side composition of several charts into one SVG.

import { esc } from './raster.ts';
import { SERIES_COLORS } from './colors.ts';

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
}

export interface BarChartOptions {
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
  /** Axis start; default 0 for non-negative data, else below the smallest value (0 stays on the axis). `auto` fits the data range. */
  readonly yMin?: number | 'auto';
  /** Decimals of value labels (default 2); labels are omitted when bars are too narrow. */
  readonly decimals?: number;
}

export interface Svg {
  readonly width: number;
  readonly height: number;
  readonly svg: string;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

const plotWidthFor = (width: number) => width - 72;

export function barChartSvg(o: BarChartOptions): Svg {
  const width = o.width ?? 640;
  const height = o.height ?? 320;
  const finite = o.series.flatMap((s) => s.values.filter(Number.isFinite));
  const dataMax = finite.length ? Math.max(...finite) : 1;
  const dataMin = finite.length ? Math.min(...finite) : 0;
  let lo: number;
  if (o.yMin === 'auto') lo = dataMin - 0.15 * Math.max(dataMax - dataMin, Math.abs(dataMax) * 0.02, 1e-6);
  else lo = o.yMin ?? (dataMin >= 0 ? 0 : dataMin * 1.1);
  let hi = dataMax + 0.08 * Math.max(dataMax - lo, 1e-6);
  if (o.yMin !== 'auto') hi = Math.max(hi, 0); // a fixed or default axis always shows its 0 (all-negative data too)
  if (hi <= lo) hi = lo + 1;
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const rotate = (plotWidthFor(width) / Math.max(1, o.categories.length) >= 9) && (o.categories.length > 8 || o.categories.some((c) => c.length * 7 > (width - 80) / Math.max(1, o.categories.length)));
  const longest = Math.max(0, ...o.categories.map((c) => c.length));
  const left = 60;
  const right = 12; // plotWidthFor(width) = width - left - right
  const top = 44;
  const bottom = rotate ? Math.min(120, 24 + longest * 5.5) : 40;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const y = (v: number) => top + plotH * (1 - (v - lo) / (hi - lo));
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  // Legend.
  let lx = left;
  for (const [i, s] of o.series.entries()) {
    const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]!;
    parts.push(`<rect x="${lx}" y="28" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="37" font-size="11">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 6.5;
  }
  // Axis and grid.
  for (let v = lo; v <= hi + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${+v.toFixed(6)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  if (o.yLabel) parts.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(o.yLabel)}</text>`);
  // Bars.
  const n = Math.max(1, o.categories.length);
  const groupW = plotW / n;
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  const base = y(Math.max(lo, Math.min(hi, 0)));
  for (let c = 0; c < o.categories.length; c++) {
    const gx = left + c * groupW + groupW * 0.1;
    for (const [i, s] of o.series.entries()) {
      const v = s.values[c];
      if (v === undefined || !Number.isFinite(v)) continue;
      const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]!;
      const yv = y(Math.max(lo, Math.min(hi, v)));
      const y0 = lo > 0 ? top + plotH : base;
      const bx = gx + i * barW;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${Math.min(yv, y0).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${Math.abs(y0 - yv).toFixed(1)}" fill="${color}"><title>${esc(`${o.categories[c]} ${s.name}: ${v}`)}</title></rect>`);
      // Value label beyond the bar's end: above a bar that rises, below one that hangs under 0.
      const ly = v < 0 && yv > y0 ? yv + 11 : Math.min(yv, y0) - 3;
      if (barW >= 22) parts.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(o.decimals ?? 2)}</text>`);
    }
    const cx = left + (c + 0.5) * groupW;
    const cy = top + plotH + 14;
    if (groupW < 9) continue; // too many categories to label legibly
    parts.push(rotate
      ? `<text transform="translate(${cx.toFixed(1)} ${cy - 6}) rotate(-45)" text-anchor="end" font-size="10">${esc(o.categories[c]!)}</text>`
      : `<text x="${cx.toFixed(1)}" y="${cy}" text-anchor="middle" font-size="11">${esc(o.categories[c]!)}</text>`);
  }
  if (groupW < 9) parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${o.categories.length} categories (hover a bar for its name)</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">${parts.join('')}</svg>`;
  return { width, height, svg };
}

/** Places charts side by side (wrapping after `perRow`) in one SVG document. */
export function combineSvgs(charts: readonly Svg[], perRow = charts.length): Svg {
  const rows: Svg[][] = [];
  for (let i = 0; i < charts.length; i += perRow) rows.push(charts.slice(i, i + perRow));
  const width = Math.max(...rows.map((r) => r.reduce((s, c) => s + c.width, 0)));
  const height = rows.reduce((s, r) => s + Math.max(...r.map((c) => c.height)), 0);
  const parts: string[] = [];
  let y = 0;
  for (const r of rows) {
    let x = 0;
    for (const c of r) {
      parts.push(c.svg.replace(/^<svg /, `<svg x="${x}" y="${y}" `));
      x += c.width;
    }
    y += Math.max(...r.map((c) => c.height));
  }
  return { width, height, svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="#ffffff"/>${parts.join('')}</svg>` };
}
