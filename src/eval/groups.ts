// Owns the dataset layouts of the groups protocol (an input with N references) and their listing into items:
// - items:  DIR/ITEM/ folders, each holding one `input.*` (the HR ground truth) and its references (every other image
//           of the folder, name order).
// - scenes: DIR/SCENE/ folders of photographs of one place (../shared/data/multiview); every photo in turn is the
//           input and the other photos of its scene are its references (the next ones in name order, cyclically,
//           when --max-refs caps them).
// - cufed5: the official MRefSR CUFED5 layout, NNN_0.png with references NNN_1.png .. NNN_5.png (all five, in
//           order); the protocol zero-pads input and references to 500x500 as the official loader does.
// A folder that does not follow its layout gets a DatasetError saying what was expected.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, IMAGE_FILE } from './datasets.ts';

export type GroupLayout = 'items' | 'scenes' | 'cufed5';
export const GROUP_LAYOUTS: readonly GroupLayout[] = ['items', 'scenes', 'cufed5'];

export const GROUP_LAYOUT_HELP: Record<GroupLayout, string> = {
  items: 'expected DIR/ITEM/ folders each with one input.* and its reference images',
  scenes: 'expected DIR/SCENE/ folders of at least two photos each',
  cufed5: 'expected NNN_0.png with references NNN_1.png .. NNN_5.png',
};

export interface GroupItem {
  readonly name: string;
  /** The HR ground truth. */
  readonly hr: string;
  readonly refs: readonly string[];
}

export interface GroupListOptions {
  /** At most this many references per item (items: the first in name order; scenes: the next photos of the scene). */
  readonly maxRefs?: number;
  /** Only these items / scenes (by folder name; cufed5: by NNN). */
  readonly only?: readonly string[];
}

function imagesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => IMAGE_FILE.test(f) && statSync(join(dir, f)).isFile()).sort();
}

function subfolders(dir: string): string[] {
  return readdirSync(dir).filter((f) => !f.startsWith('.') && statSync(join(dir, f)).isDirectory()).sort();
}

function stem(file: string): string { return file.replace(/\.[^./]+$/, ''); }

export function listGroups(dir: string, layout: GroupLayout, opts: GroupListOptions = {}): GroupItem[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`dataset folder not found: ${dir}`);
  if (opts.maxRefs !== undefined && !(Number.isInteger(opts.maxRefs) && opts.maxRefs >= 1)) throw new DatasetError(`--max-refs must be at least 1, got ${opts.maxRefs}`);
  let items: GroupItem[];
  switch (layout) {
    case 'items': items = listItems(dir, opts); break;
    case 'scenes': items = listScenes(dir, opts); break;
    case 'cufed5': items = listCufed5Groups(dir, opts); break;
    default: throw new DatasetError(`unknown groups layout "${String(layout)}" (choose ${GROUP_LAYOUTS.join(', ')})`);
  }
  if (items.length === 0) throw new DatasetError(`${dir}: no groups found (${GROUP_LAYOUT_HELP[layout]})`);
  return items;
}

function keep(name: string, only: readonly string[] | undefined): boolean {
  return !only || only.includes(name);
}

function checkOnly(dir: string, names: readonly string[], only: readonly string[] | undefined): void {
  const unknown = (only ?? []).filter((n) => !names.includes(n));
  if (unknown.length) throw new DatasetError(`${dir}: --only names ${unknown.join(', ')}, not found (there are ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''})`);
}

function listItems(dir: string, opts: GroupListOptions): GroupItem[] {
  const names = subfolders(dir);
  checkOnly(dir, names, opts.only);
  const items: GroupItem[] = [];
  for (const name of names.filter((n) => keep(n, opts.only))) {
    const files = imagesIn(join(dir, name));
    const inputs = files.filter((f) => stem(f).toLowerCase() === 'input');
    if (inputs.length !== 1) throw new DatasetError(`${join(dir, name)}: ${inputs.length === 0 ? 'no input.* image' : 'several input.* images'} (${GROUP_LAYOUT_HELP.items})`);
    const refs = files.filter((f) => f !== inputs[0]);
    if (refs.length === 0) throw new DatasetError(`${join(dir, name)}: no reference images beside ${inputs[0]}`);
    items.push({ name, hr: join(dir, name, inputs[0]!), refs: refs.slice(0, opts.maxRefs).map((f) => join(dir, name, f)) });
  }
  return items;
}

function listScenes(dir: string, opts: GroupListOptions): GroupItem[] {
  const names = subfolders(dir);
  checkOnly(dir, names, opts.only);
  const items: GroupItem[] = [];
  for (const scene of names.filter((n) => keep(n, opts.only))) {
    const photos = imagesIn(join(dir, scene));
    if (photos.length < 2) {
      if (opts.only) throw new DatasetError(`${join(dir, scene)}: a scene needs at least two photos`);
      continue;
    }
    const n = Math.min(photos.length - 1, opts.maxRefs ?? Infinity);
    photos.forEach((p, i) => {
      const refs = Array.from({ length: n }, (_, k) => join(dir, scene, photos[(i + 1 + k) % photos.length]!));
      items.push({ name: `${scene}/${stem(p)}`, hr: join(dir, scene, p), refs });
    });
  }
  return items;
}

function listCufed5Groups(dir: string, opts: GroupListOptions): GroupItem[] {
  const files = imagesIn(dir);
  const byName = new Map(files.map((f) => [stem(f), f]));
  const items: GroupItem[] = [];
  const missing: string[] = [];
  const ids = files.map((f) => /^(.+)_0\.[^.]+$/.exec(f)?.[1]).filter((id): id is string => id !== undefined);
  checkOnly(dir, ids, opts.only);
  for (const id of ids.filter((n) => keep(n, opts.only))) {
    const refs: string[] = [];
    for (let l = 1; l <= 5; l++) {
      const f = byName.get(`${id}_${l}`);
      if (f) refs.push(join(dir, f));
      else missing.push(`${id}_${l}`);
    }
    items.push({ name: id, hr: join(dir, byName.get(`${id}_0`)!), refs: refs.slice(0, opts.maxRefs) });
  }
  if (missing.length) throw new DatasetError(`${dir}: missing CUFED5 references ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} (${GROUP_LAYOUT_HELP.cufed5})`);
  return items;
}
