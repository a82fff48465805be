// Owns the colour maps of refsr's pictures: the optical-flow colour wheel (Baker et al., Middlebury: hue = direction,
// saturation = magnitude), a perceptually ordered scalar map (viridis, sampled at 9 stops and interpolated) for
// confidence, distinct line colours (golden-angle hues), and hex formatting for SVG.

export type Rgb = [number, number, number];

/** Middlebury colour wheel: 55 hues in segments red-yellow-green-cyan-blue-magenta-red. */
const WHEEL: Rgb[] = (() => {
  const segments: [number, (t: number) => Rgb][] = [
    [15, (t) => [255, 255 * t, 0]],
    [6, (t) => [255 - 255 * t, 255, 0]],
    [4, (t) => [0, 255, 255 * t]],
    [11, (t) => [0, 255 - 255 * t, 255]],
    [13, (t) => [255 * t, 0, 255]],
    [6, (t) => [255, 0, 255 - 255 * t]],
  ];
  const out: Rgb[] = [];
  for (const [n, f] of segments) for (let i = 0; i < n; i++) out.push(f(i / n));
  return out;
})();

/**
 * Colour of a displacement (dx, dy) whose magnitude is normalised by `maxMagnitude`: white at rest, saturated at
 * `maxMagnitude` and beyond (dimmed beyond it), hue from the direction.
 */
export function flowColor(dx: number, dy: number, maxMagnitude: number): Rgb {
  const rad = Math.hypot(dx, dy) / Math.max(maxMagnitude, 1e-9);
  const a = Math.atan2(-dy, -dx) / Math.PI; // -1..1
  const fk = ((a + 1) / 2) * (WHEEL.length - 1);
  const k0 = Math.floor(fk);
  const k1 = (k0 + 1) % WHEEL.length;
  const f = fk - k0;
  const out: Rgb = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let col = ((1 - f) * WHEEL[k0]![c]! + f * WHEEL[k1]![c]!) / 255;
    col = rad <= 1 ? 1 - rad * (1 - col) : col * 0.75;
    out[c] = Math.round(255 * col);
  }
  return out;
}

const VIRIDIS: Rgb[] = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];

/** Viridis at t in [0, 1] (clamped). */
export function viridis(t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(VIRIDIS[i]![c]! * (1 - f) + VIRIDIS[i + 1]![c]! * f)) as Rgb;
}

/** HSL (h in degrees, s and l in 0..1) to RGB. */
export function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

/** The i-th of a sequence of well separated saturated colours. */
export function distinctColor(i: number): Rgb {
  return hsl((i * 137.508) % 360, 0.9, 0.55);
}

export function hex(c: Rgb): string {
  return `#${c.map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('')}`;
}

/** Standard series colours for charts (refsr, baselines). */
export const SERIES_COLORS = ['#d62728', '#1f77b4', '#7f7f7f', '#2ca02c', '#9467bd', '#ff7f0e'] as const;
