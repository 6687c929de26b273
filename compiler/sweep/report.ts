/**
 * The sweep's results in three forms, all from one SweepResult so they cannot disagree:
 * sweep.csv (one row per configuration, ranked, with the compile flags that reproduce it),
 * sweep.html (self-contained: an inline SVG scatter of size against accuracy with energy as
 * the marker colour, the accuracy budget line, the Pareto front drawn and listed, and the
 * ranked table; no scripts, no external files) and the plain-text summary the CLI prints.
 */
import type { SweepResult, SweepRow } from "./run.js";

export const CSV_COLUMNS = [
  "rank", "config", "flags", "mode", "accuracy_pct", "correct", "samples", "accuracy_loss_pts", "size_bytes", "compression",
  "energy_uj", "latency_us", "cycles", "instructions", "wasm_bytes", "fits_target", "kernels", "score", "within_budget", "pareto", "error",
] as const;

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const num = (x: number, digits = 6) => (Number.isFinite(x) ? String(+x.toPrecision(digits)) : "");
const quoteArg = (a: string) => (/^[\w./:=+@%-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

/** The compile command that reproduces a row. */
export function command(r: SweepResult, row: SweepRow): string {
  return ["picojoule", "compile", r.model, ...row.flags].map(quoteArg).join(" ");
}

export function renderCsv(r: SweepResult): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const x of r.rows) {
    const f = x.failed !== undefined;
    const cells = [
      String(x.rank), x.name, x.flags.map(quoteArg).join(" "), x.mode, f ? "" : x.accuracy.toFixed(4), f ? "" : String(x.right), String(x.samples),
      f ? "" : x.lossPoints.toFixed(4), f ? "" : String(x.sizeBytes), num(x.compression, 4), num(x.joules * 1e6), num(x.seconds * 1e6),
      num(Math.round(x.cycles), 12), f ? "" : String(x.instructions), f ? "" : String(x.wasmBytes), f ? "" : String(x.fits),
      x.kernels.join(" "), num(x.score, 4), String(x.within), String(x.pareto), x.failed ?? "",
    ];
    lines.push(cells.map(csvField).join(","));
  }
  return lines.join("\n") + "\n";
}

const si = (x: number, unit: string) => {
  if (!Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  const [k, p] = a >= 1 ? [1, ""] : a >= 1e-3 ? [1e3, "m"] : a >= 1e-6 ? [1e6, "u"] : a >= 1e-9 ? [1e9, "n"] : [1e12, "p"];
  return `${(x * k).toPrecision(4)} ${p}${unit}`;
};

export function metricLine(r: Pick<SweepResult, "lambda" | "budget">): string {
  return `score = log2(size_float32 / size) - ${r.lambda} x max(0, accuracy loss in points); budget: at most ${r.budget} point(s) below float32`;
}

function table(rows: SweepRow[]): string[] {
  const head = ["rank", "config", "accuracy", "loss", "size B", "ratio", "energy", "latency", "score", "budget", "front"];
  const body = rows.map((x) => x.failed !== undefined
    ? [String(x.rank), x.name, "failed", "", "", "", "", "", "", "", ""]
    : [String(x.rank), x.name, `${x.accuracy.toFixed(2)}%`, x.lossPoints.toFixed(2), String(x.sizeBytes), `${x.compression.toFixed(2)}x`,
      si(x.joules, "J"), si(x.seconds, "s"), x.score.toFixed(2), x.within ? "ok" : "over", x.pareto ? "*" : ""]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ").trimEnd();
  return [fmt(head), ...body.map(fmt)];
}

export function renderText(r: SweepResult): string {
  const ref = r.reference;
  const L: string[] = [];
  const how = r.workers ? `${r.workers} worker threads` : "in one thread";
  L.push(`sweep of ${r.model} on ${r.target} (${r.runtime}): ${r.rows.length} configurations in ${r.seconds.toFixed(1)} s, ${how}`);
  L.push(`float32 reference: accuracy ${ref.accuracy.toFixed(2)}% (${ref.right}/${ref.samples}), constants ${ref.sizeBytes} B, ${si(ref.joules, "J")} and ${si(ref.seconds, "s")} per inference`);
  L.push(metricLine(r));
  L.push("");
  L.push(...table(r.rows));
  L.push("");
  L.push(`Pareto front (size, accuracy, energy): ${r.front.map((x) => x.name).join(", ")}`);
  for (const x of r.rows.filter((x) => x.failed !== undefined)) L.push(`failed: ${x.name}: ${x.failed}`);
  const over = r.rows.filter((x) => !x.failed && !x.within);
  if (over.length) L.push(`over the budget (never recommended): ${over.length} configuration(s), marked "over"`);
  const b = r.recommended;
  if (b) {
    L.push(`recommended: ${b.name} (score ${b.score.toFixed(2)}: ${b.compression.toFixed(2)}x smaller constants, ${b.sizeBytes} B; accuracy ${b.accuracy.toFixed(2)}%, ${b.lossPoints.toFixed(2)} points below float32; ${si(b.joules, "J")}, ${si(b.seconds, "s")})`);
    L.push(`  ${command(r, b)}`);
  } else L.push("recommended: none within the budget");
  for (const n of r.notes) L.push(`note: ${n}`);
  return L.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Low energy green, high red (hue 120 to 0). */
function energyColour(j: number, lo: number, hi: number): string {
  const t = hi > lo ? (j - lo) / (hi - lo) : 0;
  return `hsl(${Math.round(120 * (1 - t))},70%,45%)`;
}

/** Round tick values: steps of 1, 2 or 5 times a power of ten, about `n` of them. */
function ticks(lo: number, hi: number, n = 5): number[] {
  const raw = (hi - lo) / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((st) => st >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

const bytes = (b: number) => (b >= 1024 * 1024 ? `${b / 1024 / 1024} MB` : b >= 1024 ? `${b / 1024} KB` : `${b} B`);

/**
 * Size (log scale) against accuracy, energy as colour. Points on the Pareto front over all
 * three objectives are ringed; the dashed staircase is its projection on size and accuracy
 * (the most accurate configuration at each size), whose points are named.
 */
function scatter(r: SweepResult): string {
  const pts = r.rows.filter((x) => x.failed === undefined);
  const W = 850, H = 440, l = 60, rt = 180, t = 20, b = 50;
  const xs = pts.map((p) => Math.log2(p.sizeBytes)), ys = pts.map((p) => p.accuracy);
  const budgetY = r.reference.accuracy - r.budget;
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys, budgetY), y1 = Math.max(...ys);
  if (x1 - x0 < 1e-9) { x0 -= 0.5; x1 += 0.5; }
  if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
  const padX = (x1 - x0) * 0.06, padY = (y1 - y0) * 0.06;
  x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
  const X = (v: number) => l + ((v - x0) / (x1 - x0)) * (W - l - rt), Y = (v: number) => t + ((y1 - v) / (y1 - y0)) * (H - t - b);
  const PX = (p: SweepRow) => X(Math.log2(p.sizeBytes)), PY = (p: SweepRow) => Y(p.accuracy);
  const es = pts.map((p) => p.joules), elo = Math.min(...es), ehi = Math.max(...es);
  const parts: string[] = [];
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    parts.push(`<line x1="${X(e)}" y1="${H - b}" x2="${X(e)}" y2="${t}" stroke="#eee"/><text x="${X(e)}" y="${H - b + 16}" text-anchor="middle">${bytes(2 ** e)}</text>`);
  }
  for (const v of ticks(y0, y1)) {
    parts.push(`<line x1="${l}" y1="${Y(v)}" x2="${W - rt}" y2="${Y(v)}" stroke="#eee"/><text x="${l - 6}" y="${Y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  parts.push(`<rect x="${l}" y="${t}" width="${W - l - rt}" height="${H - t - b}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${(l + W - rt) / 2}" y="${H - 12}" text-anchor="middle">constant data (bytes, log scale)</text>`);
  parts.push(`<text transform="translate(14 ${(t + H - b) / 2}) rotate(-90)" text-anchor="middle">top-1 accuracy (%)</text>`);
  parts.push(`<line x1="${l}" y1="${Y(budgetY)}" x2="${W - rt}" y2="${Y(budgetY)}" stroke="#c33" stroke-dasharray="5 4"/><text x="${l + 4}" y="${Y(budgetY) + 14}" fill="#c33">budget ${budgetY.toFixed(2)}%</text>`);
  // the size-accuracy projection of the front, as a staircase
  const flat = pts.filter((p) => !pts.some((q) => q !== p && q.sizeBytes <= p.sizeBytes && q.accuracy >= p.accuracy && (q.sizeBytes < p.sizeBytes || q.accuracy > p.accuracy)))
    .sort((a, c) => a.sizeBytes - c.sizeBytes || a.accuracy - c.accuracy);
  if (flat.length) {
    const path = flat.map((p, i) => (i === 0 ? `M${PX(p)},${PY(p)}` : `H${PX(p)}V${PY(p)}`)).join("");
    parts.push(`<path d="${path}" fill="none" stroke="#333" stroke-width="1.2" stroke-dasharray="4 3"/>`);
  }
  for (const p of pts) {
    const tip = `${p.name}: ${p.accuracy.toFixed(2)}%, ${p.sizeBytes} B, ${si(p.joules, "J")}, score ${p.score.toFixed(2)}${p.pareto ? " (Pareto front)" : ""}`;
    parts.push(`<circle cx="${PX(p)}" cy="${PY(p)}" r="${p.pareto ? 7 : 5}" fill="${energyColour(p.joules, elo, ehi)}" stroke="${p.pareto ? "#000" : "#fff"}" stroke-width="${p.pareto ? 2 : 1}"><title>${esc(tip)}</title></circle>`);
  }
  // names: the staircase's points and the recommendation, one label per position
  const named = new Map<string, SweepRow[]>();
  for (const p of [...flat, ...(r.recommended && !flat.includes(r.recommended) ? [r.recommended] : [])]) {
    const k = `${p.sizeBytes}/${p.accuracy}`;
    named.set(k, [...(named.get(k) ?? []), p]);
  }
  for (const group of named.values()) {
    const p = group[0];
    const text = group.map((g) => g.name + (g === r.recommended ? " (recommended)" : "")).join(", ");
    parts.push(`<text x="${PX(p) + 9}" y="${PY(p) - 8}" font-size="11"${group.includes(r.recommended!) ? ` font-weight="bold"` : ""}>${esc(text)}</text>`);
  }
  const gx = W - rt + 20;
  parts.push(`<text x="${gx}" y="${t + 10}">energy / inference</text>`);
  for (let k = 0; k <= 4; k++) {
    const j = elo + ((ehi - elo) * k) / 4;
    parts.push(`<circle cx="${gx + 6}" cy="${t + 30 + k * 22}" r="6" fill="${energyColour(j, elo, ehi)}"/><text x="${gx + 18}" y="${t + 34 + k * 22}">${si(j, "J")}</text>`);
  }
  parts.push(`<circle cx="${gx + 6}" cy="${t + 160}" r="7" fill="#fff" stroke="#000" stroke-width="2"/><text x="${gx + 18}" y="${t + 164}">Pareto front</text>`);
  parts.push(`<text x="${gx + 18}" y="${t + 180}" font-size="10">(size, accuracy, energy)</text>`);
  parts.push(`<line x1="${gx}" y1="${t + 200}" x2="${gx + 14}" y2="${t + 200}" stroke="#333" stroke-dasharray="4 3"/><text x="${gx + 18}" y="${t + 204}">size / accuracy</text>`);
  parts.push(`<line x1="${gx}" y1="${t + 222}" x2="${gx + 14}" y2="${t + 222}" stroke="#c33" stroke-dasharray="5 4"/><text x="${gx + 18}" y="${t + 226}">accuracy budget</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">${parts.join("")}</svg>`;
}

export function renderHtml(r: SweepResult): string {
  const ref = r.reference;
  const cols = ["rank", "config", "accuracy", "loss (pts)", "size (B)", "ratio", "energy", "latency", "instructions", "score", "budget", "front", "flags"];
  const rows = r.rows.map((x) => {
    const cells = x.failed !== undefined
      ? [String(x.rank), x.name, `failed: ${x.failed}`, "", "", "", "", "", "", "", "", "", x.flags.join(" ")]
      : [String(x.rank), x.name, `${x.accuracy.toFixed(2)}%`, x.lossPoints.toFixed(2), String(x.sizeBytes), `${x.compression.toFixed(2)}x`, si(x.joules, "J"), si(x.seconds, "s"),
        String(x.instructions), x.score.toFixed(2), x.within ? "ok" : "over", x.pareto ? "yes" : "", x.flags.join(" ")];
    const cls = x === r.recommended ? ` class="best"` : !x.within ? ` class="over"` : "";
    return `<tr${cls}>${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
  });
  const front = r.front.map((x) => `<li><b>${esc(x.name)}</b>: ${x.accuracy.toFixed(2)}%, ${x.sizeBytes} B, ${esc(si(x.joules, "J"))} — <code>${esc(command(r, x))}</code></li>`);
  const b = r.recommended;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>picojoule sweep: ${esc(r.model)} on ${esc(r.target)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:nth-child(2),td:last-child{text-align:left}tr.best{background:#e6f6e6;font-weight:bold}tr.over{color:#999}code{font-size:12px}</style></head><body>
<h1>Compression sweep: ${esc(r.model)}</h1>
<p>${r.rows.length} configurations on ${esc(r.target)} (${esc(r.runtime)}). float32 reference: ${ref.accuracy.toFixed(2)}% (${ref.right}/${ref.samples}), ${ref.sizeBytes} B of constants, ${esc(si(ref.joules, "J"))} per inference.</p>
<p>Quality: <code>${esc(metricLine(r))}</code>.</p>
<p>${b ? `Recommended: <b>${esc(b.name)}</b> (score ${b.score.toFixed(2)}): <code>${esc(command(r, b))}</code>` : "No configuration is within the budget."}</p>
${scatter(r)}
<h2>Pareto front (size, accuracy, energy)</h2><ul>${front.join("\n")}</ul>
<h2>Ranked</h2><table><tr>${cols.map((c) => `<th>${c}</th>`).join("")}</tr>
${rows.join("\n")}</table>
${r.notes.length ? `<p>${r.notes.map(esc).join("<br>")}</p>` : ""}
</body></html>
`;
}
