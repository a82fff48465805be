// Owns the presentation of a robustness study: the plain-text table (stdout), the compact JSON table (benchmarks),
// the chart (AEE per group for refsr and the VGG baselines, PSNR per group for refsr and bicubic) as SVG and PNG,
// and writing the JSON report and the chart atomically.

import { directOutput, type OutputSink } from '../io/atomic-write.ts';
import { barChartSvg, combineSvgs, type Series, type Svg } from '../viz/charts.ts';
import { svgToPng } from '../viz/raster.ts';
import type { RobustnessReport } from './study.ts';

const f = (v: number | undefined, d = 2) => (v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(d) : 'n/a');

function rangeText(g: RobustnessReport['groups'][number]): string {
  return g.kind === 'identity' ? '' : g.kind === 'scale' ? `x${g.range[0]}-${g.range[1]}` : `${g.range[0]}-${g.range[1]} deg`;
}

export function formatTable(r: RobustnessReport): string {
  const vgg = r.groups.some((g) => g.aee.vgg !== undefined);
  const head = ['group', 'range', 'n', 'AEE refsr', ...(vgg ? ['AEE VGG', 'AEE VGG deg'] : []), 'PCK1 refsr', ...(vgg ? ['PCK1 VGG deg'] : []), 'PSNR refsr', 'PSNR bicubic'];
  const rows = r.groups.map((g) => [
    g.group, rangeText(g), String(g.samples), f(g.aee.refsr), ...(vgg ? [f(g.aee.vgg), f(g.aee.vggDegraded)] : []),
    f(g.pck1.refsr, 3), ...(vgg ? [f(g.pck1.vggDegraded, 3)] : []), f(g.psnrY.refsr), f(g.psnrY.bicubic),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line),
    `AEE = average end-point error in LR pixels (feature cells); PCK1 = fraction within 1 cell; PSNR = Y channel, dB. ${r.images.length} images, seed ${r.seed}, crops <= ${r.maxSize} px.`,
    ...(vgg ? [`VGG = VGG19 relu3_1 (${r.vggBaseline}) against the reference itself; VGG deg = against the reference degraded like the input (bicubic /4 x4, SRNTT-style).`] : []),
  ].join('\n');
}

/** The table as plain numbers per group (what `bench/robustness.ts` prints). */
export function jsonTable(r: RobustnessReport): Record<string, unknown>[] {
  const round = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? null : +v.toFixed(d));
  return r.groups.map((g) => ({
    group: g.group, range: g.range, samples: g.samples, positions: g.positions,
    aee_refsr: round(g.aee.refsr), aee_vgg: round(g.aee.vgg), aee_vgg_degraded: round(g.aee.vggDegraded),
    pck1_refsr: round(g.pck1.refsr), pck1_vgg: round(g.pck1.vgg), pck1_vgg_degraded: round(g.pck1.vggDegraded),
    psnr_y_refsr: round(g.psnrY.refsr), psnr_y_bicubic: round(g.psnrY.bicubic),
  }));
}

export function robustnessChart(r: RobustnessReport): Svg {
  const cats = r.groups.map((g) => g.group.replace('rotation', 'rot'));
  const aeeSeries: Series[] = [{ name: 'refsr (contrastive)', values: r.groups.map((g) => g.aee.refsr ?? NaN), color: '#d62728' }];
  if (r.groups.some((g) => g.aee.vgg !== undefined)) {
    aeeSeries.push({ name: 'VGG relu3_1', values: r.groups.map((g) => g.aee.vgg ?? NaN), color: '#1f77b4' });
    aeeSeries.push({ name: 'VGG relu3_1, degraded ref', values: r.groups.map((g) => g.aee.vggDegraded ?? NaN), color: '#7fb3e0' });
  }
  const aee = barChartSvg({ title: 'Correspondence error (AEE, lower is better)', categories: cats, series: aeeSeries, yLabel: 'AEE (LR pixels)', width: 560, height: 340, yMin: 0 });
  const psnr = barChartSvg({
    title: 'SR quality (PSNR-Y)', categories: cats, yLabel: 'PSNR-Y (dB)', width: 480, height: 340, yMin: 'auto',
    series: [{ name: 'refsr', values: r.groups.map((g) => g.psnrY.refsr), color: '#d62728' }, { name: 'bicubic', values: r.groups.map((g) => g.psnrY.bicubic), color: '#7f7f7f' }],
  });
  return combineSvgs([aee, psnr]);
}

export async function writeRobustnessOutputs(r: RobustnessReport, paths: { json?: string; chart?: string }, out: OutputSink = directOutput): Promise<void> {
  if (paths.json) await out.write(paths.json, `${JSON.stringify({ ...r, table: jsonTable(r) }, null, 2)}\n`);
  if (paths.chart) await out.write(paths.chart, await svgToPng(robustnessChart(r).svg));
}
