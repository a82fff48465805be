// Owns Ctrl-C handling for long commands: the first SIGINT/SIGTERM aborts the running work at its next block
// boundary (nothing partial is written, since outputs are atomic); a second one exits at once.

import { RefsrError } from '../errors/refsr-error.ts';

export class CancelledError extends RefsrError {
  /** `message` is what the user reads after "refsr: " (what was kept or not). */
  constructor(message = 'cancelled; nothing was written') { super(message); this.name = 'CancelledError'; }
}

export async function withCancellation<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const onSignal = () => {
    count++;
    if (count > 1) process.exit(130);
    process.stderr.write('\ncancelling (press Ctrl-C again to exit immediately)...\n');
    controller.abort(new CancelledError());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) throw e instanceof CancelledError ? e : new CancelledError();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
