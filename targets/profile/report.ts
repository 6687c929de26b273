/**
 * The profile report in three forms: a plain-text table (the CLI's default), JSON (the same
 * facts for programs), and a self-contained HTML page with per-layer bar charts of cycles
 * and energy drawn as inline SVG (no scripts, no external files). All three come from one
 * ProfileReport, so they cannot disagree.
 */
import { kb, type Estimate } from "../cost.js";

export interface ProfileReport {
  model: string;
  mode: string;
  estimate: Estimate;
  runtimeFactor: number;
  battery?: { text: string; ratePerSecond: number; seconds: number; averageWatts: number; dutyCycle: number };
  harvest?: { watts: number; ratePerSecond: number };
  /** What the counts were measured on. */
  inputs: string;
}

const si = (x: number, unit: string) => {
  const a = Math.abs(x);
  const [k, p] = a >= 1 ? [1, ""] : a >= 1e-3 ? [1e3, "m"] : a >= 1e-6 ? [1e6, "u"] : a >= 1e-9 ? [1e9, "n"] : [1e12, "p"];
  return `${(x * k).toPrecision(4)} ${p}${unit}`;
};

export function duration(s: number): string {
  if (!Number.isFinite(s)) return "forever";
  const d = s / 86400;
  if (d >= 365) return `${(d / 365).toFixed(2)} years`;
  if (d >= 1) return `${d.toFixed(1)} days`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} hours`;
  return si(s, "s");
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

export function renderText(r: ProfileReport): string {
  const e = r.estimate;
  const per = e.perStep ? "step" : "inference";
  const head = ["layer", "op", "MACs", "instr", "muls", "read B", "write B", "cycles", "time", "energy"];
  const rows = [...e.layers, ...(e.glue.cycles ? [e.glue] : [])].map((l) => [
    l.name, l.accelerator ? `${l.op} on ${l.accelerator.name}` : l.op, num(l.macs), num(l.instructions), num(l.multiplies), num(l.bytesRead), num(l.bytesWritten), num(Math.round(l.cycles)), si(l.seconds, "s"), si(l.joules, "J"),
  ]);
  rows.push(["total", "", num(e.layers.reduce((a, l) => a + l.macs, 0)), num(e.layers.reduce((a, l) => a + l.instructions, e.glue.instructions)), "", "", "", num(Math.round(e.cycles)), si(e.seconds, "s"), si(e.joules, "J")]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  const lines = [
    `${r.model} (${r.mode}) on ${e.target} at ${e.clockHz / 1e6} MHz, runtime ${e.runtime} (${r.runtimeFactor.toFixed(3)} x native cycles); counts measured on ${r.inputs}`,
    fmt(head), ...rows.map(fmt),
    "",
    `per ${per}: ${Math.round(e.cycles)} cycles, ${si(e.seconds, "s")}, ${si(e.joules, "J")}` + (e.peakStep ? ` (busiest step: ${Math.round(e.peakStep.cycles)} cycles, ${si(e.peakStep.seconds, "s")})` : ""),
    memLine("RAM", e.ram), memLine("flash", e.flash),
    e.fits ? `fits ${e.target}` : `DOES NOT FIT ${e.target}:\n  ${e.problems.join("\n  ")}`,
  ];
  if (r.battery) lines.push(`battery ${r.battery.text} at ${rate(r.battery.ratePerSecond)} ${per}s: average ${si(r.battery.averageWatts, "W")} (busy ${(100 * r.battery.dutyCycle).toPrecision(3)}% of the time, sleeping at ${si(e.sleepWatts, "W")} otherwise), life ${duration(r.battery.seconds)}`);
  if (r.harvest) lines.push(r.harvest.ratePerSecond > 0
    ? `harvesting ${si(r.harvest.watts, "W")} sustains ${rate(r.harvest.ratePerSecond)} ${per}s (sleep draws ${si(e.sleepWatts, "W")})`
    : `harvesting ${si(r.harvest.watts, "W")} sustains no ${per}s: sleep alone draws ${si(e.sleepWatts, "W")}`);
  return lines.join("\n");
}

function rate(r: number): string {
  if (r >= 1) return `${+r.toPrecision(4)}/s`;
  if (r * 60 >= 1) return `${+(r * 60).toPrecision(4)}/min`;
  return `${+(r * 3600).toPrecision(4)}/h`;
}

function memLine(what: string, m: Estimate["ram"]): string {
  return `${what} ${kb(m.total)} of ${kb(m.capacity)} (${Object.entries(m.parts).map(([k, v]) => `${k} ${kb(v)}`).join(", ")})`;
}

export function renderJson(r: ProfileReport): string {
  return JSON.stringify(r, null, 2);
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A horizontal bar chart of one quantity per layer. */
function bars(title: string, items: Array<{ label: string; value: number; text: string }>, color: string): string {
  const rowH = 18, labelW = 260, barW = 420, h = rowH * items.length + 30;
  const max = Math.max(...items.map((i) => i.value), 1e-30);
  const rows = items.map((it, k) => {
    const y = 24 + k * rowH;
    const len = Math.max(0.5, (it.value / max) * barW);
    return `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${esc(it.label)}</text>`
      + `<rect x="${labelW}" y="${y + 2}" width="${len.toFixed(1)}" height="${rowH - 5}" fill="${color}"/>`
      + `<text x="${labelW + len + 4}" y="${y + 12}">${esc(it.text)}</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 140}" height="${h}" font-family="sans-serif" font-size="11">`
    + `<text x="0" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${rows}</svg>`;
}

export function renderHtml(r: ProfileReport): string {
  const e = r.estimate;
  const items = e.layers.map((l, i) => ({ l, label: `${i}: ${l.op} ${l.name}`.slice(0, 44) }));
  const text = renderText(r);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>picojoule profile: ${esc(r.model)} on ${esc(e.target)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}
.bad{color:#b00020;font-weight:bold}.ok{color:#1b7f3b;font-weight:bold}</style></head><body>
<h1>${esc(r.model)} on ${esc(e.target)} (${esc(e.runtime)})</h1>
<p>${esc(r.mode)}, ${e.clockHz / 1e6} MHz: <b>${si(e.seconds, "s")}</b> and <b>${si(e.joules, "J")}</b> per ${e.perStep ? "step" : "inference"};
<span class="${e.fits ? "ok" : "bad"}">${e.fits ? "fits" : "does not fit: " + esc(e.problems.join("; "))}</span></p>
${bars("Cycles per layer", items.map(({ l, label }) => ({ label, value: l.cycles, text: `${Math.round(l.cycles)}` })), "#3b6fb6")}
${bars("Energy per layer", items.map(({ l, label }) => ({ label, value: l.joules, text: si(l.joules, "J") })), "#d08a1e")}
${bars("Bytes read per layer", items.map(({ l, label }) => ({ label, value: l.bytesRead, text: `${l.bytesRead} B` })), "#6a9f3a")}
<h2>Table</h2><pre>${esc(text)}</pre>
</body></html>
`;
}
