import { BREAKDOWN_KINDS, type Breakdown, type CompareRow } from "./compare-rows.js";

/** What the page shows: the same rows and mapping lines as the terminal and compare.json. */
export interface PageData {
  readonly title: string;
  readonly subtitle: string;
  readonly mappings: readonly string[];
  readonly rows: readonly CompareRow[];
  readonly footer: string;
}

const KIND_LABEL: Record<keyof Breakdown, string> = { compute: "compute", tp: "exposed TP", ep: "exposed EP", dp: "exposed DP", idle: "idle" };
const KIND_COLOR: Record<keyof Breakdown, string> = { compute: "#4e79a7", tp: "#f28e2b", ep: "#e15759", dp: "#59a14f", idle: "#bab0ac" };

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const px = (x: number): string => String(Math.round(x * 100) / 100);

/** Chart geometry, px. */
const G = { width: 960, labelW: 150, totalW: 90, top: 46, barH: 30, gap: 16, axisH: 40 } as const;

/** 1, 2 or 5 × 10^k, so that about five ticks cover `max`. */
function tickStep(max: number): number {
  const raw = max / 5, p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function legend(): string {
  return BREAKDOWN_KINDS.map((k, i) => {
    const x = G.labelW + i * 130;
    return `<g class="legend-item" data-legend="${k}"><rect x="${x}" y="8" width="14" height="14" fill="${KIND_COLOR[k]}"/><text x="${x + 20}" y="20">${KIND_LABEL[k]}</text></g>`;
  }).join("");
}

function bar(r: CompareRow, y: number, scale: number): string {
  const head = `<g class="bar" data-preset="${esc(r.preset)}" data-status="${esc(r.status)}"><text class="label" x="${G.labelW - 10}" y="${y + G.barH / 2 + 5}" text-anchor="end">${esc(r.preset)}</text>`;
  const b = r.breakdownMs;
  if (!b || r.stepMs === undefined) return `${head}<text class="note" x="${G.labelW}" y="${y + G.barH / 2 + 5}">${esc(`${r.status}: ${r.error ?? "no step finished"}`)}</text></g>`;
  let x = G.labelW;
  const parts = BREAKDOWN_KINDS.filter((k) => b[k] > 0).map((k) => {
    const w = b[k] * scale, seg = `<rect data-kind="${k}" data-ms="${px(b[k])}" x="${px(x)}" y="${y}" width="${px(w)}" height="${G.barH}" fill="${KIND_COLOR[k]}"><title>${esc(`${r.preset} · ${KIND_LABEL[k]}: ${b[k].toFixed(2)} ms`)}</title></rect>`;
    const inner = w > 56 ? `<text class="inner" x="${px(x + w / 2)}" y="${y + G.barH / 2 + 4}" text-anchor="middle">${b[k].toFixed(1)}</text>` : "";
    x += w;
    return seg + inner;
  });
  return `${head}${parts.join("")}<text class="total" x="${px(x + 8)}" y="${y + G.barH / 2 + 5}">${r.stepMs.toFixed(1)} ms</text></g>`;
}

/** The stacked horizontal bars of the step breakdown per preset, with a legend and a time axis (ms). */
export function breakdownSvg(rows: readonly CompareRow[]): string {
  const plotW = G.width - G.labelW - G.totalW;
  const totals = rows.map((r) => (r.breakdownMs ? BREAKDOWN_KINDS.reduce((s, k) => s + r.breakdownMs![k], 0) : 0));
  const max = Math.max(...totals, 1e-9), step = tickStep(max), axisMax = Math.ceil(max / step) * step, scale = plotW / axisMax;
  const bars = rows.map((r, i) => bar(r, G.top + i * (G.barH + G.gap), scale)).join("");
  const axisY = G.top + rows.length * (G.barH + G.gap);
  const ticks: string[] = [];
  for (let v = 0; v <= axisMax + step / 2; v += step) {
    const x = px(G.labelW + v * scale);
    ticks.push(`<line x1="${x}" x2="${x}" y1="${G.top - 6}" y2="${axisY}" class="grid"/><text x="${x}" y="${axisY + 16}" text-anchor="middle">${Number(v.toPrecision(6))}</text>`);
  }
  const height = axisY + G.axisH;
  return `<svg id="breakdown" xmlns="http://www.w3.org/2000/svg" width="${G.width}" height="${height}" viewBox="0 0 ${G.width} ${height}" role="img" aria-label="step time breakdown per preset">` +
    `<g class="axis">${ticks.join("")}<text x="${G.labelW + plotW / 2}" y="${axisY + 34}" text-anchor="middle">mean step time, ms (virtual)</text></g>` +
    `<g class="legend">${legend()}</g>${bars}</svg>`;
}

const fmt = (x: number | undefined, digits: number): string => (x === undefined ? "—" : x.toFixed(digits));

function table(rows: readonly CompareRow[]): string {
  const head = ["preset", "accelerators", "peak BF16 (PF)", "HBM (TB)", "scale-up GB/s per accelerator", "step (ms)", "tokens/s", "tokens/s per accelerator", "MFU (%)", "communication (%)", "exposed comm. (ms)", "status"];
  const body = rows.map((r) => "<tr>" + [
    esc(r.preset), String(r.accelerators), fmt(r.peakPflopsBf16, 1), fmt(r.hbmTB, 2), fmt(r.scaleUpGBpsPerAccelerator, 0), fmt(r.stepMs, 1), fmt(r.tokensPerSec, 0),
    fmt(r.tokensPerSecPerAccelerator, 0), fmt(r.mfuPct, 1), fmt(r.commSharePct, 1), fmt(r.exposedCommMs, 1), esc(r.error ? `${r.status}: ${r.error}` : r.status),
  ].map((c, i) => `<td${i === 0 || i === head.length - 1 ? ' class="text"' : ""}>${c}</td>`).join("") + "</tr>");
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:24px 32px;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}p.sub{color:#555;margin:0 0 12px}
ul.map{margin:0 0 16px;padding-left:20px;font-family:ui-monospace,monospace;font-size:13px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}
th{font-weight:600;font-size:12px;color:#444;vertical-align:bottom}td.text{text-align:left}
svg text{font:12px system-ui,sans-serif;fill:#222}svg text.label{font-weight:600;font-size:13px}svg text.inner{fill:#fff;font-size:11px}
svg text.note{fill:#a33}svg line.grid{stroke:#e4e4e4}footer{margin-top:24px;color:#777;font-size:12px}`;

/** A self-contained page: inline CSS and SVG, no script, nothing loaded from elsewhere. */
export function renderCompareHtml(d: PageData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title><style>${CSS}</style></head>
<body><h1>${esc(d.title)}</h1><p class="sub">${esc(d.subtitle)}</p>
<ul class="map">${d.mappings.map((m) => `<li>${esc(m)}</li>`).join("")}</ul>
${table(d.rows)}
<h2>Where a step goes</h2>
${breakdownSvg(d.rows)}
<footer>${esc(d.footer)}</footer></body></html>
`;
}
