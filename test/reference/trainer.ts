/**
 * Independent single-process reference trainer for `kind: training` (docs/training.md §1), written
 * from the document alone: it imports nothing from shared/ or services/. The emulator's tiny-width
 * parameters after N steps must match `flatten(c, train(c).params)` to a relative 1e-9.
 *
 * Parameters (`RefParams`) are `{ layers }`, one entry per emulated layer: `{ kind: "dense", A, ffn:
 * { W1, W2 } }` or `{ kind: "moe", A, G, experts: [{ W1, W2 }…], shared: [{ W1, W2 }…] }`, each a
 * row-major `Matrix` over a Float64Array. `flatten` gives the canonical element order.
 */
import { sampleInput, stepTokens, target, teacher } from "./data.js";
import { tokenBackward, tokenForward } from "./model.js";
import { flatten, initParams, matrices, validateConfig, zerosLike, type RefConfig, type RefParams } from "./params.js";

export { flatten, initParams, unflatten, type Ffn, type Matrix, type RefConfig, type RefLayer, type RefParams } from "./params.js";
export { sym, unit } from "./rng.js";

/** The step's mean token loss and, per token and MoE layer, the selected experts (for selection-flip checks). */
export interface StepForward {
  loss: number;
  routes: number[][];
}

/** Forward only, at fixed parameters: what step `step` would see with parameters `p`. */
export function stepForward(c: RefConfig, p: RefParams, step: number): StepForward {
  const T = teacher(c);
  let sum = 0;
  let n = 0;
  const routes: number[][] = [];
  for (const id of stepTokens(c, step)) {
    const x = sampleInput(c, id);
    const fwd = tokenForward(c, p, x, target(c, T, x));
    sum += fwd.loss;
    n++;
    for (const t of fwd.tapes) if (t.kind === "moe") routes.push(t.route.selected);
  }
  return { loss: sum / n, routes };
}

/** Mean loss and mean gradient of step `step` at parameters `p` (every micro-step sees the same `p`). */
function stepGradient(c: RefConfig, p: RefParams, step: number): { loss: number; grad: RefParams } {
  const T = teacher(c);
  const grad = zerosLike(p);
  let sum = 0;
  let n = 0;
  // Sum in token order, divide once: gradient = Σ over dp × microSteps × tokensPerRank tokens / their count.
  for (const id of stepTokens(c, step)) {
    const x = sampleInput(c, id);
    const fwd = tokenForward(c, p, x, target(c, T, x));
    tokenBackward(p, grad, fwd);
    sum += fwd.loss;
    n++;
  }
  for (const m of matrices(grad)) for (let i = 0; i < m.data.length; i++) m.data[i]! /= n;
  return { loss: sum / n, grad };
}

/** The flattened (canonical order) mean gradient of step `step` at parameters `p`. */
export function gradient(c: RefConfig, p: RefParams, step: number): Float64Array {
  validateConfig(c);
  return flatten(c, stepGradient(c, p, step).grad);
}

/** `c.steps` steps of SGD from `initParams(c)`; `losses[k]` is step k's mean token loss before its update. */
export function train(c: RefConfig): { params: RefParams; losses: number[] } {
  const params = initParams(c);
  const losses: number[] = [];
  for (let k = 0; k < c.steps; k++) {
    const { loss, grad } = stepGradient(c, params, k);
    losses.push(loss);
    const ps = matrices(params);
    const gs = matrices(grad);
    ps.forEach((m, b) => {
      const g = gs[b]!.data;
      for (let i = 0; i < m.data.length; i++) m.data[i]! -= c.lr * g[i]!;
    });
  }
  return { params, losses };
}
