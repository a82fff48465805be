// The bounded session cache: least recently used sessions beyond the limit are released, sessions in use never are,
// and a failed build is not kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionCache } from '../src/graph/session-cache.ts';
import type { OrtGraph } from '../src/graph/ort-session.ts';

function fakeGraph(name: string, released: string[]): OrtGraph {
  return { release: async () => { released.push(name); } } as unknown as OrtGraph;
}

test('SessionCache releases the least recently used sessions beyond its limit', async () => {
  const released: string[] = [];
  const built: string[] = [];
  const cache = new SessionCache(2);
  const use = (k: string) => cache.use(k, async () => { built.push(k); return fakeGraph(k, released); }, async () => k);
  await use('a');
  await use('b');
  await use('a'); // a is now the most recent
  await use('c'); // evicts b
  assert.deepEqual(released, ['b']);
  assert.equal(cache.size, 2);
  await use('a');
  assert.deepEqual(built, ['a', 'b', 'c'], 'a was kept, not rebuilt');
  await cache.release();
  assert.deepEqual(released.sort(), ['a', 'b', 'c']);
  assert.equal(cache.size, 0);
});

test('SessionCache never releases a session in use and forgets a failed build', async () => {
  const released: string[] = [];
  const cache = new SessionCache(1);
  let finish!: () => void;
  const running = cache.use('slow', async () => fakeGraph('slow', released), () => new Promise<void>((r) => { finish = r; }));
  await new Promise((r) => setImmediate(r));
  await cache.use('quick', async () => fakeGraph('quick', released), async () => undefined);
  assert.ok(!released.includes('slow'), 'the running session stays');
  finish();
  await running;
  await assert.rejects(cache.use('broken', async () => { throw new Error('bad graph'); }, async () => undefined), /bad graph/);
  let rebuilt = false;
  await cache.use('broken', async () => { rebuilt = true; return fakeGraph('broken', released); }, async () => undefined);
  assert.ok(rebuilt, 'a failed build is retried, not cached');
  assert.ok(cache.size <= 1);
});
