// Owns `refsr eval DIR --protocol groups [--layout items|scenes|cufed5] [--max-refs N] [--only A,B]`: every item's
// input with its N references (eval/groups.ts), PSNR/SSIM-Y of bicubic, each single reference, the canvas packing
// and attention fusion (multi-reference models), per item on stderr and as means on stdout, JSON (and CSV) report.

import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { resolveModel } from '../../pipeline/model-registry.ts';
import { listGroups, type GroupLayout } from '../../eval/groups.ts';
import { evaluateGroups, writeGroupsReport } from '../../eval/evaluate-groups.ts';
import type { Metrics } from '../../metrics/index.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';
import { createProgress } from '../progress.ts';
import { withCancellation } from '../cancellation.ts';
import { withOutputs } from '../../io/atomic-write.ts';

export interface GroupsFlags {
  model?: string;
  report?: string;
  csv?: string;
  limit?: number;
  layout: GroupLayout;
  maxRefs?: number;
  only?: string[];
  refMaxPixels?: number;
  threads?: number;
  lowMemory?: boolean;
  matching: MatchingMode;
  quiet?: boolean;
}

const fmt = (m: Metrics) => `${m.psnrY.toFixed(3)} dB / ${m.ssimY.toFixed(4)}`;

export async function runGroupsEval(dataset: string, flags: GroupsFlags): Promise<void> {
  let items = listGroups(dataset, flags.layout, { maxRefs: flags.maxRefs, only: flags.only });
  if (flags.limit !== undefined) items = items.slice(0, flags.limit);
  const modelPath = resolveModel(flags.model);
  const model = await RefSRModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
  const progress = createProgress({ quiet: flags.quiet });
  const options = {
    layout: flags.layout, ...(flags.maxRefs !== undefined ? { maxRefs: flags.maxRefs } : {}), ...(flags.only ? { only: flags.only } : {}),
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}), ...(flags.matching !== 'exact' ? { matching: flags.matching } : {}),
    ...(flags.refMaxPixels !== undefined ? { refMaxPixels: flags.refMaxPixels } : {}),
  };
  try {
    const report = await withCancellation(async (signal) => {
      const rep = await evaluateGroups(model, items, { layout: flags.layout, dataset, model: modelPath, options }, {
        signal, matching: flags.matching, refMaxPixels: flags.refMaxPixels,
        onProgress: (f) => progress.update('eval groups', f),
        onItem: (done, total, r) => {
          const singles = r.single.map((m) => m.psnrY.toFixed(2)).join(' ');
          progress.note(`${r.name} ${done}/${total}  bicubic ${r.bicubic.psnrY.toFixed(2)}  single [${singles}]${r.canvas ? `  canvas ${r.canvas.psnrY.toFixed(2)}` : ''}${r.attention ? `  attention ${r.attention.psnrY.toFixed(2)}` : ''} dB  ${r.seconds.toFixed(1)} s`);
        },
      });
      progress.stop();
      if (flags.report || flags.csv) await withOutputs(signal, (out) => writeGroupsReport(rep, flags.report, flags.csv, out));
      return rep;
    });
    const m = report.mean;
    console.log(`${report.items} items, ${report.references} references (${report.layout} layout), PSNR-Y / SSIM-Y:`);
    console.log(`  bicubic                 ${fmt(m.bicubic)}`);
    console.log(`  single reference, mean ${fmt(m.singleMean)}`);
    console.log(`  single reference, best ${fmt(m.singleBest)}  (oracle: best per item by PSNR-Y)`);
    console.log(`  canvas of all refs      ${fmt(m.canvas)}`);
    console.log(`  attention fusion        ${m.attention ? fmt(m.attention) : `- (${modelPath} is a single-reference model)`}`);
    if (flags.report || flags.csv) console.log(`report: ${[flags.report, flags.csv].filter(Boolean).join(', ')}`);
  } finally {
    progress.stop();
    await model.release();
  }
}
