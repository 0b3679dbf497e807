import type { HistoryEvent } from "./history.js";
import type { Report } from "./report.js";

/** One invariant of a run, and whether the run holds it. */
export interface Finding {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Of<T extends HistoryEvent["type"]> = Extract<HistoryEvent, { type: T }>;

const finding = (check: string, problems: readonly string[], good: string): Finding =>
  ({ check, ok: problems.length === 0, detail: problems.length ? problems.slice(0, 5).join("; ") + (problems.length > 5 ? `; … (${problems.length} in all)` : "") : good });

/**
 * The checker over a run's history (Jepsen-style, docs/chaos.md §8): what must hold of every run with
 * faults, from its report alone. Each check names what it found wrong. `reference`, when given, is the
 * same scenario run without faults: then the committed parameters must equal its bit for bit.
 */
export function checkRun(r: Report, reference?: Report): Finding[] {
  const h = r.history ?? [];
  const out: Finding[] = [];
  const status = [] as string[];
  if (!["ok", "recovered", "failed", "stalled"].includes(r.status)) status.push(`status ${String(r.status)}`);
  if ((r.status === "failed" || r.status === "stalled") && !r.stall && !(r.steps ?? []).some((s) => s.verifyError) && ![...r.results, ...r.moe].some((x) => !x.verified)) status.push(`status ${r.status} without a reason`);
  const aborts = h.filter((e): e is Of<"abort"> => e.type === "abort");
  if (r.status === "ok" && aborts.length) status.push(`status ok, but ${aborts.length} attempt(s) aborted (should be recovered)`);
  if (r.status === "recovered" && aborts.length === 0) status.push("status recovered, but no attempt was aborted");
  out.push(finding("explicit status", status, `${r.status}${r.stall ? `: ${r.stall}` : ""}`));

  const order: string[] = [];
  h.forEach((e, i) => { if (e.seq !== i) order.push(`event ${i} has seq ${e.seq}`); if (i > 0 && e.wallMs < h[i - 1]!.wallMs) order.push(`event ${i} is earlier in wall time than event ${i - 1}`); });
  out.push(finding("history in order", order, `${h.length} events`));

  // Every op of the run committed exactly once, in order; no op skipped.
  const commits = h.filter((e): e is Of<"commit"> => e.type === "commit");
  const once: string[] = [];
  const seen = new Set<number>();
  for (const c of commits) { if (seen.has(c.index)) once.push(`op index ${c.index} committed twice`); seen.add(c.index); }
  commits.forEach((c, i) => { if (c.index !== i) once.push(`commit ${i} is of op index ${c.index} (skipped or out of order)`); });
  const steps = commits.filter((c) => c.step !== undefined).map((c) => c.step!);
  steps.forEach((s, i) => { if (s !== i) once.push(`commit of step ${s} where step ${i} was due`); });
  const ended = r.status === "ok" || r.status === "recovered";
  const begun = new Set(h.filter((e) => e.type === "begin").map((e) => (e as Of<"begin">).index));
  if (ended) for (const i of begun) if (!seen.has(i)) once.push(`op index ${i} began but was never committed`);
  if (ended && r.steps && steps.length !== r.steps.length && h.length) once.push(`${steps.length} steps committed, the report has ${r.steps.length}`);
  out.push(finding("each op committed once, none skipped", once, `${commits.length} commits (${steps.length} training steps)`));

  // Fencing: an aborted attempt's epoch is never used again; epochs and op ids only go up.
  const fence: string[] = [];
  let epoch = -Infinity, op = -Infinity;
  const dead = new Set<number>();
  for (const e of h) {
    if (e.type === "begin") {
      if (e.epoch < epoch) fence.push(`op ${e.op} began at epoch ${e.epoch} after epoch ${epoch}`);
      if (dead.has(e.epoch)) fence.push(`op ${e.op} began at epoch ${e.epoch}, which an abort had fenced`);
      if (e.op <= op) fence.push(`op id ${e.op} reused or out of order (after ${op})`);
      epoch = Math.max(epoch, e.epoch); op = Math.max(op, e.op);
    } else if (e.type === "abort") {
      dead.add(e.epoch);
    } else if (e.type === "commit") {
      if (dead.has(e.epoch)) fence.push(`op ${e.op} committed at fenced epoch ${e.epoch}`);
      if (e.op !== op) fence.push(`commit of op ${e.op} while op ${op} was the attempt in progress`);
    }
  }
  const retried = aborts.filter((a) => h.some((e) => e.type === "begin" && e.index === a.index && e.seq > a.seq));
  out.push(finding("aborted epochs fenced", fence, `${aborts.length} abort(s), ${retried.length} retried at a new epoch`));

  // Committed digests are the report's, step by step.
  const digests: string[] = [];
  for (const c of commits) if (c.step !== undefined && r.steps?.[c.step] && c.digest !== r.steps[c.step]!.paramDigest) digests.push(`step ${c.step}: committed ${c.digest}, report ${r.steps[c.step]!.paramDigest}`);
  out.push(finding("commits match the report", digests, `${commits.filter((c) => c.digest).length} digests`));

  // Faults: injected → detected → recovered, in that order, when the run says it recovered.
  const faults: string[] = [];
  for (const f of r.faults ?? []) {
    if (!f.detectedAt) continue;
    if (!f.injectedAt) { faults.push(`fault ${f.index} detected but never injected`); continue; }
    if (f.detectedAt.virtualNs < f.injectedAt.virtualNs || f.detectedAt.wallMs < f.injectedAt.wallMs) faults.push(`fault ${f.index} detected before it was injected`);
    if (r.status === "recovered" && !f.recoveredAt) faults.push(`fault ${f.index} (${f.kind} ${f.target}) detected but not recovered`);
    if (f.recoveredAt && (f.recoveredAt.virtualNs < f.detectedAt.virtualNs || f.recoveredAt.wallMs < f.detectedAt.wallMs)) faults.push(`fault ${f.index} recovered before it was detected`);
  }
  out.push(finding("faults detected and recovered in order", faults, `${(r.faults ?? []).filter((f) => f.recoveredAt).length} of ${(r.faults ?? []).length} fault(s) recovered (restart, spare or shrink), the rest absorbed`));

  // Data: nothing corrupted or replayed reached a result (every result verified against its reference).
  const data: string[] = [];
  for (const x of [...r.results, ...r.moe]) if (!x.verified) data.push(`op ${"op" in x ? x.op : "?"}: ${x.verifyError ?? "not verified"}`);
  for (const s of r.steps ?? []) if (!s.verified) data.push(`step ${s.step}: ${s.verifyError ?? "not verified"}`);
  out.push(finding("results verified (corrupted, duplicated or late data never reduced)", data, `refused on the way: ${r.rejected.corrupt} corrupt, ${r.rejected.duplicate} duplicate, ${r.rejected.stale} stale`));

  if (reference) {
    const same: string[] = [];
    const a = (r.steps ?? []).map((s) => s.paramDigest), b = (reference.steps ?? []).map((s) => s.paramDigest);
    if (reference.status !== "ok") same.push(`the fault-free run ended ${reference.status}${reference.stall ? `: ${reference.stall}` : ""}`);
    if (a.length !== b.length) same.push(`${a.length} steps, the fault-free run has ${b.length}`);
    // After a shrink (policy shrink) the gradient is summed over fewer ranks, in another order. Against a
    // fault-free run that shrank at the same steps (supernode check's re-run) the digests must still be
    // equal bit for bit; against one that did not, the same samples give parameters equal to rounding
    // only, so from the shrink on the losses are held to 1e-9 relative (docs/training.md §1.5).
    const plans = (x: Report) => (x.steps ?? []).map((s) => s.dp ?? 0).join(",");
    const switched = plans(r) === plans(reference);
    const firstShrink = (r.steps ?? []).findIndex((s) => s.dp !== undefined);
    const shrunkAt = switched ? -1 : firstShrink;
    a.forEach((d, i) => {
      if (b[i] === undefined) return;
      if (shrunkAt < 0 || i < shrunkAt) { if (d !== b[i]) same.push(`step ${i}: ${d}, fault-free ${b[i]}`); return; }
      const x = r.steps![i]!.loss, y = reference.steps![i]!.loss;
      if (!(Math.abs(x - y) <= 1e-9 * Math.abs(y))) same.push(`step ${i} (DP ${r.steps![i]!.dp}): loss ${x}, fault-free ${y}`);
    });
    const ra = r.results.map((x) => x.verified), rb = reference.results.map((x) => x.verified);
    if (ra.length !== rb.length) same.push(`${ra.length} collective results, the fault-free run has ${rb.length}`);
    const rm = r.moe.length, fm = reference.moe.length;
    if (rm !== fm) same.push(`${rm} MoE layers, the fault-free run has ${fm}`);
    const ops = ra.length + rm ? `; ${ra.length} collective and ${rm} MoE result(s) verified, as many as the fault-free run's` : "";
    const as = firstShrink >= 0 && switched ? `; the fault-free run shrank at step ${firstShrink} as this one did` : "";
    const good = shrunkAt < 0 ? (a.length ? `${a.length} step digests equal (last ${a[a.length - 1]}${as})` : "no training steps") : `${shrunkAt} step digests equal, then ${a.length - shrunkAt} shrunk steps' losses to 1e-9`;
    out.push(finding(shrunkAt < 0 ? "parameters equal the fault-free run's, bit for bit" : "parameters equal the fault-free run's (bit for bit until the shrink, then losses to 1e-9)", same, good + ops));
  }
  return out;
}
