// Owns the common base class of every error refsr throws on purpose (bad input, bad weights, bad options, a failed
// write, a cancel): `catch (e) { if (e instanceof RefsrError) ... }` tells them from bugs. Each subclass sets `name`
// to its class name; the CLI prints an expected error as one line and anything else as an unexpected error.

export class RefsrError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
