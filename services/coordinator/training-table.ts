import type { Report } from "./report.js";

const us = (ns: number) => (ns / 1000).toFixed(1);

/** The training steps as a terminal table: virtual time and where it went, throughput, MFU, loss. */
export function formatTrainingTable(rep: Report): string[] {
  const t = rep.training, steps = rep.steps;
  if (!t || !steps) return [];
  const p = t.parallel;
  const head = `# training ${t.model} · dp ${p.dp} × tp ${p.tp} × ep ${p.ep} · ZeRO-${p.zero} · overlap ${p.overlap ? "on" : "off"} · ` +
    `${t.tokensPerStep} tokens/step · ${(t.flopsPerStep / 1e15).toFixed(2)} PFLOP/step · ${t.emulatedLayers} emulated layer${t.emulatedLayers === 1 ? "" : "s"} for ${t.countedLayers} · ` +
    `${t.memoryGBPerRank.total} GB per rank`;
  const cols = ["step", "time(ms)", "compute(ms)", "tp(ms)", "ep(ms)", "dp(ms)", "exposed(ms)", "tokens/s", "tok/s/NPU", "TFLOPS/NPU", "MFU(%)", "loss", "digest", "wall(ms)", "ok"];
  const widths = [5, 10, 11, 8, 8, 8, 11, 11, 10, 11, 7, 10, 17, 9, 4];
  const line = (cells: string[]) => "  " + cells.map((c, i) => c.padStart(widths[i]!)).join(" ");
  return [
    head,
    `# numerics: ${t.numericsModel}`,
    "# " + cols.map((c, i) => c.padStart(widths[i]! - (i === 0 ? 2 : 0))).join(" "),
    ...steps.map((s) => line([
      String(s.step), us(s.virtualTimeNs / 1000), us(s.computeNs / 1000), us(s.commNs.tp / 1000), us(s.commNs.ep / 1000), us(s.commNs.dp / 1000),
      us(s.exposedCommNs / 1000), s.tokensPerSec.toFixed(0), s.tokensPerSecPerNpu.toFixed(0), s.tflopsPerNpu.toFixed(1), (100 * s.mfu).toFixed(1),
      s.loss.toFixed(5), s.paramDigest, s.wallMs.toFixed(0), s.verified ? "yes" : "NO",
    ])),
    ...steps.filter((s) => !s.verified).map((s) => `# FAILED step ${s.step}: ${s.verifyError}`),
    `# totals: ${(t.totals.virtualTimeNs / 1e6).toFixed(2)} ms virtual · ${t.totals.tokensPerSec.toFixed(0)} tokens/s · MFU ${(100 * t.totals.mfu).toFixed(1)}% · loss ${t.totals.lossFirst.toFixed(5)} → ${t.totals.lossLast.toFixed(5)}`,
  ];
}
