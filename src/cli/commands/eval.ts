// Owns `refsr eval DIR --protocol wrsr|cufed5 --model M`: the paper's test protocol over a dataset folder, per-image
// and mean PSNR/SSIM-Y (with the bicubic baseline), JSON report and optional CSV.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { resolveModel } from '../../pipeline/model-registry.ts';
import { listPairs, PROTOCOLS, type Protocol } from '../../eval/datasets.ts';
import { evaluate, writeReport } from '../../eval/evaluate.ts';
import { createProgress } from '../progress.ts';
import { intOption } from '../options.ts';
import { withCancellation } from '../cancellation.ts';

interface EvalFlags {
  protocol: Protocol;
  model?: string;
  report: string;
  csv?: string;
  limit?: number;
  refLevel: number;
  shuffleRefs?: boolean;
  threads?: number;
  quiet?: boolean;
}

function protocolOption(v: string): Protocol {
  if (!(PROTOCOLS as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown protocol "${v}" (choose ${PROTOCOLS.join(', ')})`);
  return v as Protocol;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description("evaluate a model with the paper's protocol (x4 bicubic LR from HR, Y-channel PSNR/SSIM, crop 4)")
    .argument('<dataset>', 'dataset folder')
    .requiredOption('-p, --protocol <name>', `dataset layout: ${PROTOCOLS.join(' | ')}`, protocolOption)
    .option('-m, --model <name|path>', 'bundled model name or model file')
    .option('--report <file>', 'JSON report path', 'eval-report.json')
    .option('--csv <file>', 'also write per-image CSV')
    .option('--limit <n>', 'evaluate only the first N pairs', intOption)
    .option('--ref-level <n>', 'CUFED5 reference level (1..5)', intOption, 1)
    .option('--shuffle-refs', "give each image another pair's reference (how much does the reference matter?)")
    .option('--threads <n>', 'CPU threads', intOption)
    .option('-q, --quiet', 'no progress output')
    .action(async (dataset: string, flags: EvalFlags) => {
      let pairs = listPairs(dataset, flags.protocol, { refLevel: flags.refLevel });
      if (flags.limit !== undefined) pairs = pairs.slice(0, flags.limit);
      const modelPath = resolveModel(flags.model);
      const model = await RefSRModel.load(modelPath, { threads: flags.threads });
      const progress = createProgress({ quiet: flags.quiet });
      try {
        const report = await withCancellation((signal) => evaluate(model, pairs, { protocol: flags.protocol, dataset, model: modelPath }, {
          signal, shuffleRefs: flags.shuffleRefs,
          onProgress: (f) => progress.update('eval', f),
          onImage: (done, total, r) => {
            progress.note(`${r.name.padEnd(12)} ${done}/${total}  PSNR-Y ${r.refsr.psnrY.toFixed(2)} SSIM-Y ${r.refsr.ssimY.toFixed(4)}  (bicubic ${r.bicubic.psnrY.toFixed(2)} / ${r.bicubic.ssimY.toFixed(4)})  ${r.seconds.toFixed(1)} s`);
          },
        }));
        progress.stop();
        await writeReport(report, flags.report, flags.csv);
        const m = report.mean;
        console.log(`${report.images} images  refsr PSNR-Y ${m.refsr.psnrY.toFixed(3)} dB  SSIM-Y ${m.refsr.ssimY.toFixed(4)}  |  bicubic ${m.bicubic.psnrY.toFixed(3)} dB  ${m.bicubic.ssimY.toFixed(4)}  |  ${m.seconds.toFixed(1)} s/image`);
        console.log(`report: ${flags.report}${flags.csv ? `, ${flags.csv}` : ''}`);
      } finally {
        progress.stop();
        await model.release();
      }
    });
}
