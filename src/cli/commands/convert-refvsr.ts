// Owns the Ref-VSR branch of `refsr convert`: the released RefBasicVSRLRFeatConvAttnLargeNet checkpoint (generator.*
// + step_counter, extractor inside) and/or separate SPyNet and extractor files -> one refsr video bundle.

import { basename } from 'node:path';
import { readTensorFile } from '../../weights/read-weight-file.ts';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.ts';
import { assembleRefVsrBundle, REFVSR_CLASS } from '../../models/refvsr-bundle.ts';
import { ConvertError, type TensorSet } from '../../models/import-official.ts';

export interface RefVsrConvertFlags {
  readonly output: string;
  readonly spynet?: string;
  readonly extractor?: string;
  readonly vgg?: string;
}

export async function convertRefVsr(checkpointPath: string, checkpoint: TensorSet, flags: RefVsrConvertFlags): Promise<void> {
  if (flags.vgg) throw new ConvertError(`--vgg is not used by ${REFVSR_CLASS}: its VGG19 conv1_1 is part of the checkpoint (net_map.vgg.vgg_net.conv1_1)`);
  const spynet = flags.spynet ? (await readTensorFile(flags.spynet)).tensors : undefined;
  const extractor = flags.extractor ? (await readTensorFile(flags.extractor)).tensors : undefined;
  const sources = [checkpointPath, flags.spynet, flags.extractor].filter(Boolean).map((p) => basename(p!)).join(' + ');
  const r = assembleRefVsrBundle({ generator: checkpoint, spynet, extractor, provenance: `imported by refsr convert from ${sources}` });
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of r.tensors) out.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(flags.output, out, r.metadata);
  let values = 0;
  for (const t of r.tensors.values()) values += t.data.length;
  process.stderr.write(`wrote ${flags.output}: ${REFVSR_CLASS} (video), num_blocks ${r.config.numBlocks}, ${r.tensors.size} tensors, ${values.toLocaleString('en-US')} values\n`);
  if (r.replaced.length) process.stderr.write(`took ${r.replaced.length} keys from the separate SPyNet / extractor files over the checkpoint's\n`);
  if (r.filled.length) process.stderr.write(`the SPyNet file stores no ${r.filled.join(' / ')}: filled with the ImageNet constants of the official constructor\n`);
  if (r.dropped.length) process.stderr.write(`ignored ${r.dropped.length} keys not used by the network: ${r.dropped.slice(0, 6).join(', ')}${r.dropped.length > 6 ? ', ...' : ''}\n`);
}
