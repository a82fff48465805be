// Owns starting the batch worker's TypeScript entry inside a worker thread (tsx's loader registered here, since a
// worker does not inherit the parent's programmatic registration).
import { register } from 'tsx/esm/api';

register();
await import('./batch-worker-entry.ts');
