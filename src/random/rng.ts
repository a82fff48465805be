// Owns refsr's reproducible random numbers: a seeded generator (mulberry32 uniforms, Box-Muller normals), small,
// fast and identical on every platform, with the numpy-style draws the data pipelines need (randint with an
// exclusive upper bound, choice). Used for seeded weights, training data, eval protocols and robustness sets.

export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) { this.state = seed >>> 0; }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** numpy `randint(low, high)`: an integer in [low, high). */
  randint(low: number, high: number): number {
    if (!(high > low)) throw new Error(`randint: empty range [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.uniform() * n); }

  /** numpy `choice(values)`. */
  choice<V>(values: readonly V[]): V {
    return values[this.randint(0, values.length)]!;
  }

  /** `n` normals scaled by `std`, as float32. */
  normals(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}
