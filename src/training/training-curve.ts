// Owns a run's training curve: every validation of the run folder's log (one point per validated step), written
// after each validation as `curve.jsonl` (one line per validation: the step and its figures) and `curve.png` (the
// figures against the step: PSNR gains in dB in one chart, the other figures in another). Restoration runs show own
// vs shuffled-reference gains; contrastive runs PCK@1 and AEE.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { lineChartSvg, type LineSeries } from '../viz/line-chart.ts';
import { combineSvgs, type Svg } from '../viz/charts.ts';
import { svgToPng } from '../viz/raster.ts';

export const CURVE_JSONL = 'curve.jsonl';
export const CURVE_PNG = 'curve.png';

/** Figures left out of the chart: counts and absolute PSNRs (their differences are what the curve shows). */
const NOT_PLOTTED = new Set(['samples', 'psnr_y', 'bicubic_psnr_y']);

export interface CurvePoint { readonly step: number; readonly figures: Record<string, number> }

export async function readCurve(runDir: string): Promise<CurvePoint[]> {
  const log = join(runDir, 'log.jsonl');
  if (!existsSync(log)) return [];
  const out: CurvePoint[] = [];
  for (const line of (await readFile(log, 'utf8')).split('\n')) {
    if (!line.includes('"validation"')) continue;
    try {
      const r = JSON.parse(line) as { step: number; validation: Record<string, number> };
      if (r.validation && Object.keys(r.validation).length) out.push({ step: r.step, figures: r.validation });
    } catch { /* a torn last line */ }
  }
  return out;
}

export function curveSvg(points: readonly CurvePoint[], title: string): Svg {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.figures)))].filter((k) => !NOT_PLOTTED.has(k));
  const series = (ks: string[]): LineSeries[] => ks.map((k) => ({ name: k, points: points.map((p) => [p.step, p.figures[k] ?? NaN] as const) }));
  const db = keys.filter((k) => k.endsWith('_db'));
  const other = keys.filter((k) => !k.endsWith('_db'));
  const charts: Svg[] = [];
  if (db.length) charts.push(lineChartSvg({ title: `${title}: PSNR-Y gain over bicubic (dB)`, series: series(db), xLabel: 'step', yLabel: 'dB' }));
  if (other.length) charts.push(lineChartSvg({ title: db.length ? `${title}: other figures` : title, series: series(other), xLabel: 'step' }));
  return charts.length === 1 ? charts[0]! : combineSvgs(charts, 1);
}

/** Rewrites the run folder's curve.jsonl and curve.png from its log. */
export async function writeCurve(runDir: string, title: string): Promise<CurvePoint[]> {
  const points = await readCurve(runDir);
  if (points.length === 0) return points;
  await writeFileAtomic(join(runDir, CURVE_JSONL), points.map((p) => JSON.stringify({ step: p.step, ...p.figures })).join('\n') + '\n');
  await writeFileAtomic(join(runDir, CURVE_PNG), await svgToPng(curveSvg(points, title).svg));
  return points;
}
