// Owns the errors only the command line throws: a command line that cannot work as given (conflicting or unsafe
// options, such as an output that would overwrite the input; exit code 2 like commander's own usage errors), and a
// batch run that finished with some files skipped (exit code 1 after the summary).

import { RefsrError } from '../errors/refsr-error.ts';

export class UsageError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export class BatchIncompleteError extends RefsrError {
  constructor(readonly folder: string, readonly skipped: number, readonly total: number) {
    super(`${folder}: ${skipped} of ${total} files could not be upscaled and were skipped (listed above)`);
    this.name = 'BatchIncompleteError';
  }
}
