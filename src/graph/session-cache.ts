// Owns a bounded set of ONNX Runtime sessions keyed by what their static graph was built for (usually input shapes).
// Graphs are static, so every new image size or edge-tile size builds a session, and each session keeps its memory
// arena (hundreds of MB for a large shape) until released: an evaluation over many images of different sizes grew
// to 12 GB and was killed before this cache released the least recently used sessions beyond its limit.

import { OrtGraph } from './ort-session.ts';

interface Entry {
  readonly graph: Promise<OrtGraph>;
  users: number;
}

/** Sessions kept per cache: one image's feature windows and restoration tiles (interior, edges, corner) fit. */
export const DEFAULT_SESSION_LIMIT = 8;

export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limit = DEFAULT_SESSION_LIMIT) {}

  get size(): number { return this.entries.size; }

  /** Runs `fn` with the session for `key`, building it with `create` when absent; sessions in use are never released. */
  async use<T>(key: string, create: () => Promise<OrtGraph>, fn: (g: OrtGraph) => Promise<T>): Promise<T> {
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key); // re-inserted below: Map order is the recency order
    } else {
      e = { graph: create(), users: 0 };
    }
    this.entries.set(key, e);
    e.users++;
    try {
      const g = await e.graph;
      return await fn(g);
    } catch (err) {
      if (this.entries.get(key) === e && (await e.graph.then(() => false, () => true))) this.entries.delete(key);
      throw err;
    } finally {
      e.users--;
      await this.evict();
    }
  }

  private async evict(): Promise<void> {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.limit) return;
      if (e.users > 0) continue;
      this.entries.delete(key);
      await e.graph.then((g) => g.release(), () => undefined);
    }
  }

  async release(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await e.graph.then((g) => g.release(), () => undefined);
  }
}
