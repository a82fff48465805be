// Owns `refsr eval DIR --protocol P --model M`: the paper's test protocol over a dataset folder (WR-SR, CUFED5 at one
// reference level or all five, a pairs file, the Urban100 / Manga109 single-image-set conventions), per-image and
// mean PSNR/SSIM-Y with the bicubic baseline, printed; JSON, CSV and self-contained HTML reports where asked (nothing is
// written to the current folder unless asked). The heavy modules load when the command runs, not at start-up.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolveModel } from '../../pipeline/model-registry.ts';
import { DatasetError, listPairs, PROTOCOLS, type EvalPair, type Protocol } from '../../eval/datasets.ts';
import type { Thumbnails } from '../../report/thumbnails.ts';
import { createProgress } from '../progress.ts';
import { intOption, matchingOption, modelHelp, checkOutputPath, LOW_MEMORY_HELP } from '../options.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';
import { withCancellation } from '../cancellation.ts';
import { layoutOption, namesOption } from './eval-groups-options.ts';
import type { GroupLayout } from '../../eval/groups.ts';

interface EvalFlags {
  protocol?: Protocol | 'groups';
  layout: GroupLayout;
  maxRefs?: number;
  only?: string[];
  refMaxPixels?: number;
  model?: string;
  report?: string;
  csv?: string;
  html?: string;
  limit?: number;
  refLevel: number;
  allLevels?: boolean;
  pairs?: string;
  inputRoot?: string;
  refRoot?: string;
  seed: number;
  crop?: number;
  shuffleRefs?: boolean;
  threads?: number;
  lowMemory?: boolean;
  matching: MatchingMode;
  quiet?: boolean;
}

function protocolOption(v: string): Protocol | 'groups' {
  if (v === 'groups') return v;
  if (!(PROTOCOLS as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown protocol "${v}" (choose ${PROTOCOLS.join(', ')}, groups)`);
  return v as Protocol;
}

/** The first `limit` inputs (with every level of each when levels are evaluated). */
export function limitPairs(pairs: EvalPair[], limit: number | undefined): EvalPair[] {
  if (limit === undefined) return pairs;
  const keep = new Set<string>();
  for (const p of pairs) {
    if (keep.size >= limit) break;
    keep.add(p.hr);
  }
  return pairs.filter((p) => keep.has(p.hr));
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description("evaluate a model with the paper's protocol (x4 bicubic LR from HR, Y-channel PSNR/SSIM, crop 4)")
    .argument('<dataset>', 'dataset folder')
    .option('-p, --protocol <name>', `dataset layout: ${PROTOCOLS.join(' | ')} (pairs is implied by --pairs) | groups (an input with N references)`, protocolOption)
    .option('--layout <name>', 'groups: items (ITEM/input.* + refs) | scenes (each photo of a scene folder in turn, the others its refs) | cufed5 (NNN_0 + NNN_1..5, padded to 500x500)', layoutOption, 'items')
    .option('--max-refs <n>', 'groups: at most N references per item', intOption)
    .option('--only <names>', 'groups: only these items or scenes (comma-separated)', namesOption)
    .option('--ref-max-pixels <n>', 'groups: reference pixel budget per item, as upscale', intOption)
    .option('-m, --model <name|path>', modelHelp())
    .option('--report <file>', 'also write the JSON report (per-image and mean figures)')
    .option('--csv <file>', 'also write per-image CSV')
    .option('--html <file>', 'also write a self-contained HTML report with thumbnails and charts')
    .option('--limit <n>', 'evaluate only the first N inputs', intOption)
    .option('--ref-level <n>', 'CUFED5 reference level (1..5)', intOption, 1)
    .option('--all-levels', 'CUFED5: evaluate every reference level 1..5 and report each')
    .option('--pairs <file>', 'pairs file: one "INPUT REF" line per pair (as the reference implementation\'s *_pairs.txt)')
    .option('--input-root <dir>', 'pairs: folder the input paths are relative to (default DATASET/input or DATASET)')
    .option('--ref-root <dir>', 'pairs: folder the reference paths are relative to (default DATASET/ref or DATASET)')
    .option('--seed <n>', 'manga109: seed of the random reference choice', intOption, 1)
    .option('--crop <px>', 'smoke runs only (not the paper protocol): centre-crop input and reference to at most PX a side', intOption)
    .option('--shuffle-refs', "give each image another pair's reference (how much does the reference matter?)")
    .option('--matching <mode>', 'correspondence search: exact (the paper protocol), fast (coarse-to-fine) or auto', matchingOption, 'exact')
    .option('--threads <n>', 'CPU threads', intOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', `
The mean figures are printed; --report, --csv and --html write files (nothing is written unless asked).

Example:
  refsr eval ../shared/data/wr-sr-dev --protocol wrsr --limit 5 --report wrsr.json --html wrsr.html`)
    .action(async (dataset: string, flags: EvalFlags, command: Command) => {
      if (flags.protocol === 'groups') {
        for (const [set, name] of [[flags.pairs, '--pairs'], [flags.allLevels, '--all-levels'], [flags.shuffleRefs, '--shuffle-refs'], [flags.crop, '--crop'], [flags.html, '--html']] as const) {
          if (set !== undefined && set !== false) throw new DatasetError(`${name} does not apply to the groups protocol`);
        }
        const { runGroupsEval } = await import('./eval-groups.ts');
        return runGroupsEval(dataset, flags);
      }
      for (const [set, name] of [[flags.maxRefs, '--max-refs'], [flags.only, '--only'], [flags.refMaxPixels, '--ref-max-pixels']] as const) {
        if (set !== undefined) throw new DatasetError(`${name} applies to the groups protocol only`);
      }
      if (flags.layout !== 'items') throw new DatasetError('--layout applies to the groups protocol only');
      const protocol: Protocol | undefined = flags.protocol ?? (flags.pairs ? 'pairs' : undefined);
      if (!protocol) command.error(`error: choose a protocol with --protocol (${PROTOCOLS.join(', ')}) or give a pairs file with --pairs`, { exitCode: 2 });
      if (flags.allLevels && protocol !== 'cufed5') throw new DatasetError('--all-levels applies to the cufed5 protocol only');
      if (flags.crop !== undefined && flags.crop < 16) throw new DatasetError(`--crop must be at least 16 px, got ${flags.crop}`);
      if (flags.pairs && protocol !== 'pairs') throw new DatasetError(`--pairs applies to the pairs protocol, not ${protocol}`);
      const pairs = limitPairs(listPairs(dataset, protocol!, {
        refLevel: flags.allLevels ? 'all' : flags.refLevel, pairsFile: flags.pairs, inputRoot: flags.inputRoot, refRoot: flags.refRoot, seed: flags.seed,
      }), flags.limit);
      for (const f of [flags.report, flags.csv, flags.html]) if (f) checkOutputPath(f);
      const modelPath = resolveModel(flags.model);
      const { RefSRModel } = await import('../../pipeline/refsr-model.ts');
      const { evaluate, writeReport } = await import('../../eval/evaluate.ts');
      const { makeThumbnails } = await import('../../report/thumbnails.ts');
      const { thumbnailKey, writeEvalHtml } = await import('../../report/eval-html.ts');
      const { withOutputs } = await import('../../io/atomic-write.ts');
      const model = await RefSRModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
      const progress = createProgress({ quiet: flags.quiet });
      const thumbs = new Map<string, Thumbnails>();
      const options = {
        ...(protocol === 'cufed5' ? { refLevel: flags.allLevels ? 'all' : flags.refLevel } : {}),
        ...(protocol === 'manga109' ? { seed: flags.seed } : {}),
        ...(flags.pairs ? { pairs: flags.pairs } : {}),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        ...(flags.shuffleRefs ? { shuffleRefs: true } : {}),
        ...(flags.crop ? { crop: flags.crop } : {}),
        ...(flags.matching !== 'exact' ? { matching: flags.matching } : {}),
      };
      try {
        // Writing the reports is part of the cancellable work; they are renamed into place together or not at all.
        const report = await withCancellation(async (signal) => {
          const rep = await evaluate(model, pairs, { protocol: protocol!, dataset, model: modelPath, options }, {
          signal, shuffleRefs: flags.shuffleRefs, crop: flags.crop, matching: flags.matching,
          onProgress: (f) => progress.update('eval', f),
          onOutputs: flags.html ? async (_p, r, images) => { thumbs.set(thumbnailKey(r), await makeThumbnails(images)); } : undefined,
          onImage: (done, total, r) => {
            const name = r.level !== undefined ? `${r.name} L${r.level}` : r.name;
            progress.note(`${name.padEnd(12)} ${done}/${total}  PSNR-Y ${r.refsr.psnrY.toFixed(2)} SSIM-Y ${r.refsr.ssimY.toFixed(4)}  (bicubic ${r.bicubic.psnrY.toFixed(2)} / ${r.bicubic.ssimY.toFixed(4)})  ${r.seconds.toFixed(1)} s`);
          },
          });
          progress.stop();
          await withOutputs(signal, async (out) => {
            await writeReport(rep, flags.report, flags.csv, out);
            if (flags.html) await writeEvalHtml(flags.html, rep, thumbs, out);
          });
          return rep;
        });
        const m = report.mean;
        for (const l of report.byLevel ?? []) {
          console.log(`level ${l.level}: ${l.images} images  refsr PSNR-Y ${l.refsr.psnrY.toFixed(3)} dB  SSIM-Y ${l.refsr.ssimY.toFixed(4)}  |  bicubic ${l.bicubic.psnrY.toFixed(3)} dB  ${l.bicubic.ssimY.toFixed(4)}`);
        }
        console.log(`${report.images} images  refsr PSNR-Y ${m.refsr.psnrY.toFixed(3)} dB  SSIM-Y ${m.refsr.ssimY.toFixed(4)}  |  bicubic ${m.bicubic.psnrY.toFixed(3)} dB  ${m.bicubic.ssimY.toFixed(4)}  |  ${m.seconds.toFixed(1)} s/image`);
        const written = [flags.report, flags.csv, flags.html].filter(Boolean);
        if (written.length) console.log(`report: ${written.join(', ')}`);
      } finally {
        progress.stop();
        await model.release();
      }
    });
}
