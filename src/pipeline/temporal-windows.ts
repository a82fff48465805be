// Owns the split of a long clip into temporal windows for the bidirectional recurrent network: each window is run
// on its own (memory bounded by the window, not the clip), consecutive windows overlap, and every frame is owned
// (written) by exactly one window, the one in which it lies farther from the window's ends, so that each written
// frame has propagated features from both sides whenever the clip has them.

export interface TemporalWindow {
  /** Frames [start, end) are run through the network together. */
  readonly start: number;
  readonly end: number;
  /** Frames [ownStart, ownEnd) are this window's output (a partition of the clip over the windows). */
  readonly ownStart: number;
  readonly ownEnd: number;
}

/**
 * Windows of `window` frames stepping by `window - overlap`; the last one is aligned to the clip's end (so every
 * window has `window` frames when the clip has). A frame shared by two windows belongs to the earlier one up to the
 * middle of their shared span, to the later one from there.
 */
export function temporalWindows(count: number, window: number, overlap: number): TemporalWindow[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`a clip needs at least one frame (got ${count})`);
  if (!Number.isInteger(window) || window < 2) throw new Error(`the temporal window must be at least 2 frames (got ${window})`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= window) throw new Error(`the window overlap must be 0..${window - 1} frames (got ${overlap})`);
  if (count <= window) return [{ start: 0, end: count, ownStart: 0, ownEnd: count }];
  const starts: number[] = [];
  for (let s = 0; s + window < count; s += window - overlap) starts.push(s);
  starts.push(count - window);
  const spans = starts.map((s) => ({ start: s, end: s + window }));
  return spans.map((s, i) => {
    const prev = spans[i - 1];
    const next = spans[i + 1];
    const ownStart = prev ? Math.ceil((s.start + prev.end) / 2) : 0;
    const ownEnd = next ? Math.ceil((next.start + s.end) / 2) : count;
    return { ...s, ownStart, ownEnd };
  });
}
