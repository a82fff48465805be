// Owns the error of an image that cannot be used (missing, unreadable, damaged, too large), always naming the file;
// in a module of its own so code that only checks paths need not load the decoders.

import { RefsrError } from '../errors/refsr-error.ts';

export class ImageInputError extends RefsrError {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ImageInputError';
  }
}
