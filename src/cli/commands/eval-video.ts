// Owns `refsr eval-video DIR [--model M]`: the Vid4 protocol of the Ref-VSR model (src/eval/vid4.ts) in both
// labelled variants, (a) as released and (b) honest, with the bicubic baseline; a table on stdout and a JSON report
// written atomically. `--bicubic-only` measures the baseline without a model.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolveVideoModel } from '../../pipeline/model-registry.ts';
import { VIDEO_PROTOCOLS, type VideoProtocol } from '../../pipeline/video-defaults.ts';
import { createProgress } from '../progress.ts';
import { intOption, matchingOption, LOW_MEMORY_HELP } from '../options.ts';
import { withCancellation } from '../cancellation.ts';
import { writeFileAtomic } from '../../io/atomic-write.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';

interface EvalVideoFlags {
  model?: string;
  bicubicOnly?: boolean;
  report?: string;
  clip: string[];
  frames?: number;
  protocol?: VideoProtocol;
  matching: MatchingMode;
  unrelatedKeyframe?: string;
  note?: string;
  threads?: number;
  lowMemory?: boolean;
  quiet?: boolean;
  json?: boolean;
}

function protocolOption(v: string): VideoProtocol {
  if (!(VIDEO_PROTOCOLS as readonly string[]).includes(v)) throw new InvalidArgumentError(`choose ${VIDEO_PROTOCOLS.join(' or ')}`);
  return v as VideoProtocol;
}

export function registerEvalVideo(program: Command): void {
  program
    .command('eval-video')
    .description('Vid4 protocol of a Ref-VSR model: (a) as released and (b) honest, Y-PSNR/SSIM per frame and clip, with bicubic')
    .argument('<dataset>', 'folder with one sub-folder of ground-truth frames per clip (e.g. vid4/calendar, vid4/city)')
    .option('-m, --model <name|path>', 'bundled video model name (video; default: video) or a Ref-VSR model file')
    .option('--bicubic-only', 'only the bicubic baseline (no model)')
    .option('--report <file>', 'JSON report (per frame, per clip, mean), written atomically')
    .option('--clip <name>', 'only this clip (repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--frames <n>', 'only the first N frames of each clip (frame 0 stays the keyframe)', intOption)
    .option('--protocol <p>', `only one protocol: ${VIDEO_PROTOCOLS.join(' | ')} (default: both)`, protocolOption)
    .option('--matching <mode>', 'correspondence search: exact (the official, default) | fast | auto', matchingOption, 'exact')
    .option('--unrelated-keyframe <file>', 'ablation: this unrelated photo as the keyframe instead of the ground truth of frame 0')
    .option('--note <text>', 'a note stored in the report and printed under the table (e.g. what the weights are)')
    .option('--threads <n>', 'CPU threads (default: all cores)', intOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .action(async (dataset: string, flags: EvalVideoFlags) => {
      const { readImageFile } = await import('../../image/decode.ts');
      const { RefVsrModel } = await import('../../pipeline/refvsr-model.ts');
      const { evaluateVid4, formatVid4Table } = await import('../../eval/vid4.ts');
      const modelPath = flags.bicubicOnly ? undefined : resolveVideoModel(flags.model);
      const progress = createProgress({ quiet: flags.quiet });
      const unrelated = flags.unrelatedKeyframe ? { image: await readImageFile(flags.unrelatedKeyframe), name: flags.unrelatedKeyframe } : undefined;
      const model = modelPath ? await RefVsrModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory }) : undefined;
      try {
        const report = await withCancellation(async (signal) => {
          const r = await evaluateVid4(dataset, model, {
            clips: flags.clip, frames: flags.frames, protocols: flags.protocol ? [flags.protocol] : undefined, matching: flags.matching,
            unrelatedKeyframe: unrelated, note: flags.note, signal, onProgress: (s, f) => progress.update(s, f),
          });
          progress.stop();
          if (flags.report) await writeFileAtomic(flags.report, `${JSON.stringify(r, null, 1)}\n`, { signal });
          return r;
        });
        console.log(flags.json ? JSON.stringify(report) : formatVid4Table(report));
      } finally {
        progress.stop();
        await model?.release();
      }
    });
}
