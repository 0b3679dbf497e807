/**
 * Forward (docs/training.md §1.4) and hand-written backward (§1.5) of one token through the tiny model.
 * The forward keeps what the backward needs in a per-layer tape; nothing is shared between tokens.
 */
import { addMatTVec, addOuter, addScaled, dot, matVec, relu, softmax } from "./linalg.js";
import type { Ffn, RefConfig, RefLayer, RefParams } from "./params.js";

/** An FFN's forward values: input x, pre-activation a = W1·x, r = relu(a), output o = W2·r. */
interface FfnTape {
  x: Float64Array;
  a: Float64Array;
  r: Float64Array;
  o: Float64Array;
}

/** MoE routing of one token: selected experts (best first), their probabilities and gate weights. */
interface Route {
  p: Float64Array;
  selected: number[];
  weights: number[];
}

type LayerTape =
  | { kind: "dense"; xIn: Float64Array; ffn: FfnTape }
  | { kind: "moe"; xIn: Float64Array; xMid: Float64Array; route: Route; experts: FfnTape[]; shared: FfnTape[] };

function ffnForward(w: Ffn, x: Float64Array): FfnTape {
  const a = matVec(w.W1, x);
  const r = relu(a);
  return { x, a, r, o: matVec(w.W2, r) };
}

/** Top-k by p, ties to the lower expert id; gate weights renormalised over the selection. */
export function route(p: Float64Array, topK: number): Route {
  const order = Array.from(p.keys()).sort((i, j) => p[j]! - p[i]! || i - j);
  const selected = order.slice(0, topK);
  let total = 0;
  for (const e of selected) total += p[e]!;
  return { p, selected, weights: selected.map((e) => p[e]! / total) };
}

function attention(layer: RefLayer, xIn: Float64Array): Float64Array {
  const x = Float64Array.from(xIn);
  addScaled(x, matVec(layer.A, xIn));
  return x;
}

function layerForward(c: RefConfig, layer: RefLayer, xIn: Float64Array): { x: Float64Array; tape: LayerTape } {
  const x = attention(layer, xIn);
  if (layer.kind === "dense") {
    const ffn = ffnForward(layer.ffn, x);
    const out = Float64Array.from(x);
    addScaled(out, ffn.o);
    return { x: out, tape: { kind: "dense", xIn, ffn } };
  }
  const r = route(softmax(matVec(layer.G, x)), c.topK);
  const experts = r.selected.map((e) => ffnForward(layer.experts[e]!, x));
  const shared = layer.shared.map((s) => ffnForward(s, x));
  const out = Float64Array.from(x);
  experts.forEach((t, k) => addScaled(out, t.o, r.weights[k]!));
  for (const t of shared) addScaled(out, t.o);
  return { x: out, tape: { kind: "moe", xIn, xMid: x, route: r, experts, shared } };
}

/** One token's forward: the output, its loss ½‖x_out − y*‖² and the tape for `tokenBackward`. */
export function tokenForward(c: RefConfig, p: RefParams, x0: Float64Array, target: Float64Array) {
  let x = x0;
  const tapes: LayerTape[] = [];
  p.layers.forEach((layer) => {
    const step = layerForward(c, layer, x);
    tapes.push(step.tape);
    x = step.x;
  });
  const diff = x.map((v, i) => v - target[i]!);
  return { loss: 0.5 * dot(diff, diff), diff, tapes };
}

/** Backward of `o = W2·relu(W1·x)` scaled by `gate`, given dL/d(out) = g; adds into dx. */
function ffnBackward(w: Ffn, dw: Ffn, t: FfnTape, g: Float64Array, gate: number, dx: Float64Array): void {
  const dO = g.map((v) => gate * v);
  addOuter(dw.W2, dO, t.r);
  const da = new Float64Array(t.a.length);
  addMatTVec(da, w.W2, dO);
  for (let i = 0; i < da.length; i++) if (!(t.a[i]! > 0)) da[i] = 0;
  addOuter(dw.W1, da, t.x);
  addMatTVec(dx, w.W1, da);
}

/**
 * dL/dz of the router. With S = Σ_sel p and w_k = p_{e_k}/S: dL/dp_j = (dL/dw_j − Σ_k w_k·dL/dw_k)/S
 * for selected j and 0 otherwise (top-k is a constant selection); then the softmax Jacobian over
 * all E: dz_i = p_i·(dp_i − Σ_j p_j·dp_j). The Σ_j p_j·dp_j term is zero analytically (w is invariant
 * to scaling the selected p's), so only the selected z's get gradient; it is kept to follow §1.5 literally.
 */
export function routerBackward(r: Route, dWeights: number[]): Float64Array {
  let total = 0;
  for (const e of r.selected) total += r.p[e]!;
  let weighted = 0;
  dWeights.forEach((d, k) => (weighted += r.weights[k]! * d));
  const dp = new Float64Array(r.p.length);
  r.selected.forEach((e, k) => (dp[e] = (dWeights[k]! - weighted) / total));
  const mean = dot(r.p, dp);
  return r.p.map((pi, i) => pi * (dp[i]! - mean));
}

function layerBackward(layer: RefLayer, grad: RefLayer, tape: LayerTape, g: Float64Array): Float64Array {
  // After the FFN/MoE residual: dx_mid = g + (the block's input gradient).
  const dMid = Float64Array.from(g);
  if (layer.kind === "dense" && grad.kind === "dense" && tape.kind === "dense") {
    ffnBackward(layer.ffn, grad.ffn, tape.ffn, g, 1, dMid);
  } else if (layer.kind === "moe" && grad.kind === "moe" && tape.kind === "moe") {
    const r = tape.route;
    const dWeights = tape.experts.map((t) => dot(g, t.o));
    r.selected.forEach((e, k) => ffnBackward(layer.experts[e]!, grad.experts[e]!, tape.experts[k]!, g, r.weights[k]!, dMid));
    layer.shared.forEach((s, i) => ffnBackward(s, grad.shared[i]!, tape.shared[i]!, g, 1, dMid));
    const dz = routerBackward(r, dWeights);
    addOuter(grad.G, dz, tape.xMid);
    addMatTVec(dMid, layer.G, dz);
  } else {
    throw new Error("parameter, gradient and tape layers disagree in kind");
  }
  // Attention x_mid = x_in + A·x_in: dA += dx_mid·x_inᵀ, dx_in = dx_mid + Aᵀ·dx_mid.
  addOuter(grad.A, dMid, tape.xIn);
  const dIn = Float64Array.from(dMid);
  addMatTVec(dIn, layer.A, dMid);
  return dIn;
}

/** Adds this token's dL/dθ (unscaled) into `grad`, from the tape of `tokenForward`. */
export function tokenBackward(p: RefParams, grad: RefParams, fwd: ReturnType<typeof tokenForward>): void {
  let g: Float64Array = fwd.diff;
  for (let l = p.layers.length - 1; l >= 0; l--) g = layerBackward(p.layers[l]!, grad.layers[l]!, fwd.tapes[l]!, g);
}
