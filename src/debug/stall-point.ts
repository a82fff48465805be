// Owns one testability hook: with REFSR_STALL_AT=<point> in the environment, the process announces
// "refsr: stalled at <point>" on stderr when it reaches that point of its work and waits there until its work is
// cancelled (the signal aborts) or 60 s pass. Tests use it to deliver a Ctrl-C at a known moment (in the middle of
// matching, during the final write) instead of racing a timer. Unset, it costs one environment lookup.
//
// Points: `matching` (superResolve and refsr match, after the features, before the correspondence search) and
// `write` (every atomic output, after its temp file is written and flushed, before the rename), `video-frame`
// (`refsr video`, after each frame is written).

export async function stallPoint(point: string, signal?: AbortSignal): Promise<void> {
  if (process.env.REFSR_STALL_AT !== point) return;
  process.stderr.write(`refsr: stalled at ${point} (REFSR_STALL_AT)\n`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    if (signal?.aborted) { clearTimeout(timer); resolve(); return; }
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
  signal?.throwIfAborted();
}
