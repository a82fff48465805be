// Owns `refsr match LR REF --viz OUT.png [--model M]`: correspondences between any input and any reference drawn as
// in the paper's Figure 1 (input and reference side by side with confident correspondence lines, plus the matched
// flow on the colour wheel and the confidence map), written atomically; optional JSON summary on stdout.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { outputFormatFor } from '../../image/output-format.ts';
import { OutputWriteError } from '../../io/atomic-write.ts';
import { resolveModel } from '../../pipeline/model-registry.ts';
import type { FeatureExtractor } from '../../eval/features.ts';
import type { MatchFeatures } from '../../eval/match-pair.ts';
import { createProgress } from '../progress.ts';
import { intOption, modelHelp, checkOutputPath, optionNamesToFlags } from '../options.ts';
import { withCancellation } from '../cancellation.ts';
import type { MatchReference } from '../../matching/reference-view.ts';

interface MatchFlags {
  viz: string;
  model?: string;
  features: MatchFeatures;
  vgg?: string;
  lines: number;
  fromHr?: boolean;
  refMaxPixels?: number;
  threads?: number;
  quiet?: boolean;
  json?: boolean;
}

function featuresOption(v: string): MatchFeatures {
  if (v !== 'contras' && v !== 'vgg') throw new InvalidArgumentError('choose contras (the model\'s contrastive extractor) or vgg (VGG19 relu3_1)');
  return v;
}

export function registerMatch(program: Command): void {
  program
    .command('match')
    .description('draw the correspondences between an input and a reference (as the paper\'s Figure 1)')
    .argument('<input>', 'low-resolution input (or a high-resolution image with --from-hr)')
    .argument('<ref>', 'reference image (any size)')
    .requiredOption('--viz <file.png>', 'picture to write')
    .option('-m, --model <name|path>', modelHelp())
    .option('--features <kind>', 'matching features: contras (refsr) or vgg (VGG19 relu3_1 baseline)', featuresOption, 'contras')
    .option('--vgg <file>', 'VGG19 weights for --features vgg (default: the model bundle\'s VGG)')
    .option('--lines <n>', 'number of correspondence lines', intOption, 40)
    .option('--from-hr', 'the input is a high-resolution image: match its x4 bicubic LR, as the evaluation protocol does')
    .option('--ref-max-pixels <n>', 'downscale references larger than this (default 4000000)', intOption)
    .option('--threads <n>', 'CPU threads', intOption)
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText('after', `
Example:
  refsr match examples/coffee-lr.png examples/coffee-ref.png --viz coffee-match.png`)
    .action(async (input: string, refPath: string, flags: MatchFlags) => {
      if (outputFormatFor(flags.viz) !== 'png') throw new OutputWriteError(flags.viz, 'the correspondence picture is written as PNG; use a .png name');
      checkOutputPath(flags.viz);
      const { MatchInputError, matchPair } = await import('../../eval/match-pair.ts');
      if (flags.vgg && flags.features !== 'vgg') throw new MatchInputError('--vgg gives the weights of --features vgg; add --features vgg');
      const { readImageFile } = await import('../../image/decode.ts');
      const { writeFileAtomic } = await import('../../io/atomic-write.ts');
      const { describeBundle } = await import('../../models/model-bundle.ts');
      const { readWeightFile } = await import('../../weights/read-weight-file.ts');
      const { FeatureExtractor } = await import('../../eval/features.ts');
      const { renderMatchPicture } = await import('../../viz/correspondence.ts');
      const lr = await readImageFile(input);
      const ref = await readImageFile(refPath);
      let fx: FeatureExtractor;
      let modelPath: string | undefined;
      let matchReference: MatchReference = 'sharp';
      if (flags.features === 'vgg' && flags.vgg) fx = await FeatureExtractor.vggFromFile(flags.vgg, { threads: flags.threads });
      else {
        modelPath = resolveModel(flags.model);
        const weights = await readWeightFile(modelPath);
        const info = describeBundle(weights, modelPath);
        fx = new FeatureExtractor(weights, info.vggInput, flags.threads);
        matchReference = info.matchReference;
      }
      const progress = createProgress({ quiet: flags.quiet });
      try {
        // Drawing and writing the picture are part of the cancellable work: a Ctrl-C leaves no file behind.
        const { r, pic } = await withCancellation(async (signal) => {
          const r = await matchPair(fx, lr, ref, {
            features: flags.features, matchReference, fromHr: flags.fromHr, refMaxPixels: flags.refMaxPixels, threads: flags.threads, signal,
            onProgress: (f) => progress.update('matching', f),
          });
          progress.stop();
          for (const n of r.notes) progress.note(`note: ${optionNamesToFlags(n)}`);
          const what = flags.features === 'vgg' ? 'VGG19 relu3_1 features'
            : matchReference === 'degraded' ? 'refsr contrastive features (reference degraded /4 x4 for matching)' : 'refsr contrastive features';
          const pic = await renderMatchPicture({ up: r.up, ref: r.ref, match: r.match, lines: flags.lines, title: `${what}: ${input.replace(/^.*\//, '')} -> ${refPath.replace(/^.*\//, '')}` });
          await writeFileAtomic(flags.viz, pic.png, { signal });
          return { r, pic };
        });
        const meanScore = r.match.score ? r.match.score.reduce((a, b) => a + b, 0) / r.match.score.length : 0;
        const summary = {
          input, ref: refPath, model: modelPath, features: flags.features, matchReference: flags.features === 'contras' ? matchReference : undefined, viz: flags.viz, picture: [pic.width, pic.height],
          grid: { input: [r.match.w, r.match.h], reference: [r.match.refW, r.match.refH] }, positions: r.match.index.length,
          meanScore, scoreRange: pic.scoreRange, maxFlowCells: pic.maxFlow, lines: pic.lines.length, seconds: r.seconds,
        };
        if (flags.json) console.log(JSON.stringify(summary));
        else if (!flags.quiet) process.stderr.write(`wrote ${flags.viz} (${pic.width}x${pic.height}): ${summary.positions} positions matched, mean score ${meanScore.toFixed(3)}, ${r.seconds.toFixed(1)} s\n`);
      } finally {
        progress.stop();
        await fx.release();
      }
    });
}
