// Owns the reverse-mode pass over a recorded tape: walks the entries backwards from the heads' incoming gradients
// (graph inputs `grad:<head>`), accumulates the gradient of every value that depends on a trainable parameter, and
// emits the parameters' gradients as outputs `grad:<param>` of a separate backward graph. Forward values a rule
// reads become outputs of the forward graph and inputs of the backward graph under the same name (inputs of the
// forward graph, i.e. parameters and batch tensors, are fed to both; constants are copied).

import { GraphBuilder, type Sym } from './graph-builder.ts';
import type { TapeOps } from './tape-ops.ts';
import { backwardRule } from './backward-rules.ts';

export const GRAD_PREFIX = 'grad:';

export interface BackwardGraph {
  readonly b: GraphBuilder;
  /** Forward values the backward graph reads (outputs of the forward graph). */
  readonly saved: readonly string[];
  /** Inputs of the forward graph the backward graph also reads (parameters, batch tensors). */
  readonly sharedInputs: readonly string[];
  /** Parameters that received a gradient (output `grad:<name>`). */
  readonly params: readonly string[];
}

export function buildBackward(t: TapeOps, heads: readonly Sym[]): BackwardGraph {
  const b = new GraphBuilder('b_');
  const saved: string[] = [];
  const shared: string[] = [];
  const copied = new Set<string>();
  const toBackward = (s: Sym): Sym => {
    if (t.f.inputs.has(s.name)) {
      if (!b.inputs.has(s.name)) shared.push(s.name);
      return b.input(s.name, s.shape);
    }
    const c = t.f.constants.get(s.name);
    if (c) {
      if (!copied.has(s.name)) {
        b.model.addFloatInitializer(s.name, c.shape, c.data);
        copied.add(s.name);
      }
      return s;
    }
    if (!b.inputs.has(s.name)) {
      t.f.output(s);
      saved.push(s.name);
    }
    return b.input(s.name, s.shape);
  };
  const need = (s: Sym) => t.needsGrad.has(s.name);
  const grads = new Map<string, Sym[]>();
  const push = (s: Sym, g: Sym) => {
    if (g.shape.join() !== s.shape.join() || g.shape.length !== s.shape.length) throw new Error(`onnx engine: gradient of ${s.name} has shape [${g.shape}], value has [${s.shape}]`);
    const list = grads.get(s.name);
    if (list) list.push(g);
    else grads.set(s.name, [g]);
  };
  for (const h of heads) {
    if (!need(h)) throw new Error(`onnx engine: head ${h.name} does not depend on any trainable parameter`);
    push(h, b.input(GRAD_PREFIX + h.name, h.shape));
  }
  for (let i = t.tape.length - 1; i >= 0; i--) {
    const e = t.tape[i]!;
    const list = grads.get(e.y.name);
    if (!list || !need(e.y)) continue;
    grads.delete(e.y.name);
    const dY = b.sum(list);
    for (const [x, g] of backwardRule(b, e, dY, toBackward, need)) if (need(x)) push(x, g);
  }
  const params: string[] = [];
  for (const [name, p] of t.params) {
    const list = grads.get(name);
    if (!list) continue;
    const out = GRAD_PREFIX + name;
    b.model.addNode({ op: 'Identity', inputs: [b.sum(list).name], outputs: [out] });
    b.model.addOutput(out, p.shape);
    params.push(name);
  }
  return { b, saved, sharedInputs: shared, params };
}
