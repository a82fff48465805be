// Owns the reverse-mode pass over a recorded tape: one backward ONNX graph per forward segment, walked from the
// last segment to the first. Inside a segment, gradients accumulate as graph values; a value that also receives
// gradient from outside the segment (a head, a later segment, a host op) gets it as an input `grad:<name>`; the
// segment's contributions to values made elsewhere (earlier segments, host ops, parameters, batch inputs) are
// outputs `gout<j>:<name>`, summed on the host. Forward values a rule reads become outputs of their forward
// segment and inputs of the backward graph under the same name; constants are copied.

import { GraphBuilder, type Sym } from './graph-builder.ts';
import { hostInputs, type HostEntry, type TapeOps } from './tape-ops.ts';
import { backwardRule } from './backward-rules.ts';

export const GRAD_PREFIX = 'grad:';
export const gradOutputName = (seg: number, name: string) => `gout${seg}:${name}`;

export interface BackwardSegment {
  readonly b: GraphBuilder;
  /** Values whose contribution this graph outputs (as gradOutputName(seg, name)). */
  readonly outputs: readonly string[];
}

export interface BackwardPlan {
  /** Per forward segment (undefined where the segment has nothing to differentiate). */
  readonly segments: readonly (BackwardSegment | undefined)[];
  /** Host ops whose output receives a gradient. */
  readonly host: readonly HostEntry[];
  /** Trainable parameters that receive a gradient. */
  readonly params: readonly string[];
}

export function buildBackward(t: TapeOps, heads: readonly Sym[]): BackwardPlan {
  const need = (s: Sym) => t.needsGrad.has(s.name);
  const external = new Set<string>();
  for (const h of heads) {
    if (!need(h)) throw new Error(`onnx engine: head ${h.name} does not depend on any trainable parameter`);
    t.expose(h);
    external.add(h.name);
  }
  const segments: (BackwardSegment | undefined)[] = [];
  const host: HostEntry[] = [];
  for (let j = t.segments.length - 1; j >= 0; j--) {
    const b = new GraphBuilder(`b${j}_`);
    const toBackward = (s: Sym): Sym => {
      const c = t.constants.get(s.name);
      if (c) {
        if (!b.constants.has(s.name)) {
          b.model.addFloatInitializer(s.name, c.shape, c.data);
          b.constants.set(s.name, c);
        }
        return s;
      }
      t.expose(s);
      return b.input(s.name, s.shape);
    };
    const grads = new Map<string, Sym[]>();
    const push = (s: Sym, g: Sym) => {
      if (g.shape.join() !== s.shape.join() || g.shape.length !== s.shape.length) throw new Error(`onnx engine: gradient of ${s.name} has shape [${g.shape}], value has [${s.shape}]`);
      const list = grads.get(s.name);
      if (list) list.push(g);
      else grads.set(s.name, [g]);
    };
    let nodes = 0;
    for (let i = t.tape.length - 1; i >= 0; i--) {
      const e = t.tape[i]!;
      if (e.seg !== j || !need(e.y)) continue;
      const list = grads.get(e.y.name) ?? [];
      grads.delete(e.y.name);
      if (external.has(e.y.name)) list.push(b.input(GRAD_PREFIX + e.y.name, e.y.shape));
      if (list.length === 0) continue;
      const dY = b.sum(list);
      for (const [x, g] of backwardRule(b, e, dY, toBackward, need)) if (need(x)) push(x, g);
      nodes++;
    }
    const outputs: string[] = [];
    for (const [name, list] of grads) {
      const out = gradOutputName(j, name);
      b.model.addNode({ op: 'Identity', inputs: [b.sum(list).name], outputs: [out] });
      b.model.addOutput(out, list[0]!.shape);
      outputs.push(name);
      external.add(name);
    }
    segments[j] = nodes > 0 && outputs.length > 0 ? { b, outputs } : undefined;
    // The host op before segment j runs next in the backward order.
    for (const h of t.host) {
      if (h.after !== j - 1 || !external.has(h.y.name)) continue;
      host.push(h);
      for (const v of hostInputs(h)) if (need(v)) external.add(v.name);
    }
  }
  const params = [...t.params.keys()].filter((p) => t.needsGrad.has(p) && external.has(p));
  return { segments, host, params };
}
