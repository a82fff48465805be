// Owns reading a ParamStore's current values as host tensors for the engine's graph inputs (one copy out of the
// tfjs backend per parameter per step; parameters are small next to activations).

import type { ParamStore } from '../param-store.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

export function paramValues(store: ParamStore): (name: string) => Float32Tensor {
  return (name) => {
    const t = store.lookup(name);
    if (!t) throw new Error(`onnx engine: parameter ${name} is not in the store`);
    return t;
  };
}
