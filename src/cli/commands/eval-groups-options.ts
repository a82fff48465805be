// Owns the option parsers of `refsr eval --protocol groups` (--layout, --only): light, so the eval command's help
// loads nothing heavy (the work is in eval-groups.ts, imported when it runs).

import { InvalidArgumentError } from 'commander';
import { GROUP_LAYOUTS, type GroupLayout } from '../../eval/groups.ts';

export function layoutOption(v: string): GroupLayout {
  if (!(GROUP_LAYOUTS as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown groups layout "${v}" (choose ${GROUP_LAYOUTS.join(', ')})`);
  return v as GroupLayout;
}

export function namesOption(v: string, acc: string[] = []): string[] {
  return [...acc, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}
