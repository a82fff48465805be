// Owns `refsr robustness DIR --model M [--vgg-baseline WEIGHTS]`: the paper's robustness study on any image folder
// (each image its own scaled / rotated reference with known ground-truth correspondence), table on stdout, JSON
// report and PNG chart written atomically.

import type { Command } from 'commander';
import type { RgbImage } from '../../image/rgb-image.ts';
import { resolveModel } from '../../pipeline/model-registry.ts';
import { DatasetError, listImageSet } from '../../eval/datasets.ts';
import { existsSync, statSync } from 'node:fs';
import { createProgress } from '../progress.ts';
import { intOption, modelHelp, checkOutputPath, optionNamesToFlags, LOW_MEMORY_HELP } from '../options.ts';
import { withCancellation } from '../cancellation.ts';

interface RobustnessFlags {
  model?: string;
  vggBaseline?: string;
  baseline: boolean;
  limit?: number;
  seed: number;
  maxSize?: number;
  report: string;
  chart: string;
  threads?: number;
  lowMemory?: boolean;
  quiet?: boolean;
}

export function registerRobustness(program: Command): void {
  program
    .command('robustness')
    .description('robustness study (paper 5.4): correspondence error and PSNR under controlled scaling and rotation of the reference')
    .argument('<folder>', 'folder of images (each becomes its own transformed reference)')
    .option('-m, --model <name|path>', modelHelp())
    .option('--vgg-baseline <file>', 'VGG19 weights for the baseline matcher (default: the model bundle\'s VGG)')
    .option('--no-baseline', 'skip the VGG baseline')
    .option('--limit <n>', 'use only the first N images', intOption)
    .option('--seed <n>', 'seed of the transformation parameters', intOption, 1)
    .option('--max-size <px>', 'centre-crop images to at most this size (default 192)', intOption)
    .option('--report <file>', 'JSON report', 'robustness.json')
    .option('--chart <file.png>', 'PNG chart', 'robustness.png')
    .option('--threads <n>', 'CPU threads', intOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', `
Example:
  refsr robustness ../shared/data/set14 --limit 4 --report set14-robustness.json --chart set14-robustness.png`)
    .action(async (folder: string, flags: RobustnessFlags) => {
      checkOutputPath(flags.report);
      checkOutputPath(flags.chart);
      const { readImageFile } = await import('../../image/decode.ts');
      const { RefSRModel } = await import('../../pipeline/refsr-model.ts');
      const { FeatureExtractor } = await import('../../eval/features.ts');
      const { DEFAULT_MAX_SIZE, imageName, runRobustness } = await import('../../robustness/study.ts');
      const { formatTable, writeRobustnessOutputs } = await import('../../robustness/report.ts');
      const { withOutputs } = await import('../../io/atomic-write.ts');
      const maxSize = flags.maxSize ?? DEFAULT_MAX_SIZE;
      if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new DatasetError(`image folder not found: ${folder}`);
      let files = listImageSet(folder);
      if (files.length === 0) throw new DatasetError(`${folder}: no images found (PNG, JPEG, WebP, TIFF or BMP)`);
      if (flags.limit !== undefined) files = files.slice(0, flags.limit);
      if (maxSize < 32) throw new DatasetError(`--max-size must be at least 32 px, got ${maxSize}`);
      const modelPath = resolveModel(flags.model);
      const model = await RefSRModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
      const vgg = !flags.baseline ? undefined
        : flags.vggBaseline ? await FeatureExtractor.vggFromFile(flags.vggBaseline, { threads: flags.threads })
        : new FeatureExtractor(model.weights, model.info.vggInput, flags.threads);
      const images: { name: string; image: RgbImage }[] = [];
      for (const f of files) images.push({ name: imageName(f), image: await readImageFile(f) });
      const progress = createProgress({ quiet: flags.quiet });
      try {
        // Writing the report and chart is part of the cancellable work; both are renamed into place or neither.
        const report = await withCancellation(async (signal) => {
          const rep = await runRobustness(model, images, {
          dataset: folder, model: modelPath, vggBaseline: vgg ? (flags.vggBaseline ?? `${modelPath} (vgg.*)`) : null,
        }, {
          seed: flags.seed, maxSize, vgg, signal,
          onProgress: (f) => progress.update('robustness', f),
          onNote: (m) => progress.note(`note: ${optionNamesToFlags(m)}`),
          onSample: (s, done, total) => progress.note(`${s.image} ${s.group} (${s.param.toFixed(2)}) ${done}/${total}: AEE refsr ${(s.epe.refsr!.sum / Math.max(1, s.epe.refsr!.count)).toFixed(2)}${s.epe.vgg ? ` vgg ${(s.epe.vgg.sum / Math.max(1, s.epe.vgg.count)).toFixed(2)}` : ''}  PSNR ${s.psnrY.refsr.toFixed(2)}`),
          });
          progress.stop();
          await withOutputs(signal, (out) => writeRobustnessOutputs(rep, { json: flags.report, chart: flags.chart }, out));
          return rep;
        });
        console.log(formatTable(report));
        console.log(`report: ${flags.report}, chart: ${flags.chart}`);
      } finally {
        progress.stop();
        await model.release();
        await vgg?.release();
      }
    });
}
