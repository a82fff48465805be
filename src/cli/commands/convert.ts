// Owns `refsr convert RESTORATION.pth [--extractor X.pth] [--vgg V] -o OUT.safetensors`: imports official PyTorch
// checkpoints (read safely, never executed) into one refsr model bundle, checking every key and shape. The
// restoration checkpoint's keys say which network it is: C2-Matching's RestorationNet or MRefSR's multi-reference
// MRAPARestorationNet.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { basename } from 'node:path';
import { readTensorFile } from '../../weights/read-weight-file.ts';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.ts';
import { assembleBundle, vggFromCheckpoint, stripWrappers, ConvertError } from '../../models/import-official.ts';
import { assembleMRefBundle, isMRefStateDict } from '../../models/import-mref.ts';
import { parameterCount, bundleSpec } from '../../models/model-bundle.ts';
import { RESTORATION_VARIANTS, type RestorationVariant } from '../../models/restoration-net.ts';
import type { VggInputNorm } from '../../models/vgg-features.ts';
import { looksLikeRefVsr } from '../../models/refvsr-bundle.ts';
import { convertRefVsr } from './convert-refvsr.ts';
import { checkOutputPath } from '../options.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

interface ConvertFlags {
  output: string;
  extractor?: string;
  vgg?: string;
  spynet?: string;
  vggInput?: VggInputNorm;
  variant?: RestorationVariant;
}

function choice<T extends string>(values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`choose one of ${values.join(', ')}`);
    return v as T;
  };
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('import official C2-Matching / torchvision weights (.pth read safely, or safetensors) into a refsr model')
    .argument('<restoration>', 'RestorationNet checkpoint (may also hold the extractor and VGG keys), or the Ref-VSR checkpoint (detected from its keys)')
    .requiredOption('-o, --output <file>', 'output .safetensors')
    .option('--extractor <file>', 'ContrasExtractorSep checkpoint (feature_extraction_image1/2.*)')
    .option('--spynet <file>', 'Ref-VSR only: SPyNet weights (basic_module.*), over or instead of the checkpoint\'s spynet.*')
    .option('--vgg <file>', 'VGG19 weights: torchvision vgg19 .pth, conv-named safetensors, or the MatConvNet relu3_1 .json export')
    .option('--vgg-input <conv>', 'VGG input convention: imagenet (torchvision) or caffe (0..255 minus mean)', choice(['imagenet', 'caffe'] as const))
    .option('--variant <v>', 'C2-Matching restoration variant (default: detected from the keys)', choice(['full', 'light'] as const))
    .addHelpText('after', `
Example:
  refsr convert restoration_net.pth --extractor feature_extraction.pth --vgg vgg19-dcbb9e9d.pth -o c2-matching.safetensors`)
    .action(async (restorationPath: string, flags: ConvertFlags) => {
      checkOutputPath(flags.output);
      const restoration = await readTensorFile(restorationPath);
      if (flags.spynet || looksLikeRefVsr(restoration.tensors.keys())) return convertRefVsr(restorationPath, restoration.tensors, flags);
      const extractor = flags.extractor ? await readTensorFile(flags.extractor) : undefined;
      const vggFile = flags.vgg ? await readTensorFile(flags.vgg) : undefined;
      const vggInput: VggInputNorm = flags.vggInput ?? (vggFile?.metadata['refsr.vgg_input'] as VggInputNorm | undefined) ?? 'imagenet';
      const sources = [restorationPath, flags.extractor, flags.vgg].filter(Boolean).map((p) => basename(p!)).join(' + ');
      const vgg = vggFile ? vggFromCheckpoint(vggFile.tensors) : undefined;
      const restorationKeys = stripWrappers(restoration.tensors);
      if (isMRefStateDict((k) => restorationKeys.has(k))) {
        if (flags.variant) throw new ConvertError(`--variant is for C2-Matching checkpoints; ${basename(restorationPath)} is an MRefSR (multi-reference) restoration checkpoint`);
        const m = assembleMRefBundle({ restoration: restoration.tensors, extractor: extractor?.tensors, vgg, vggInput, provenance: `imported by refsr convert from ${sources}` });
        await writeBundle(flags.output, m.tensors, m.metadata);
        const { ngf, blocks, groups, refWidths } = m.config;
        process.stderr.write(`wrote ${flags.output}: MRefSR multi-reference model (ngf ${ngf}, n_blocks ${blocks}, groups ${groups}, reference widths ${refWidths.relu1_1}/${refWidths.relu2_1}/${refWidths.relu3_1}), ${m.tensors.size} tensors, restoration ${m.restorationParams.toLocaleString('en-US')} parameters, VGG input ${vggInput}\n`);
        if (m.dropped.length) process.stderr.write(`ignored ${m.dropped.length} keys not used by refsr: ${m.dropped.slice(0, 6).join(', ')}${m.dropped.length > 6 ? ', ...' : ''}\n`);
        return;
      }
      const result = assembleBundle({
        restoration: restoration.tensors, extractor: extractor?.tensors, vgg,
        vggInput, variant: flags.variant, provenance: `imported by refsr convert from ${sources}`,
      });
      await writeBundle(flags.output, result.tensors, result.metadata);
      const params = parameterCount(bundleSpec(RESTORATION_VARIANTS[result.variant]), (k) => !k.startsWith('vgg.') && !k.startsWith('feature_extraction'));
      process.stderr.write(`wrote ${flags.output}: ${result.variant} C2-Matching, ${result.tensors.size} tensors, restoration ${params.toLocaleString('en-US')} parameters, VGG input ${vggInput}\n`);
      if (result.dropped.length) process.stderr.write(`ignored ${result.dropped.length} keys not used by refsr: ${result.dropped.slice(0, 6).join(', ')}${result.dropped.length > 6 ? ', ...' : ''}\n`);
    });
}

async function writeBundle(path: string, tensors: Map<string, Float32Tensor>, metadata: Record<string, string>): Promise<void> {
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of tensors) out.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(path, out, metadata);
}
