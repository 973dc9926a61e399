/**
 * A hand-written SVG line chart with log-scale axes: lookup time (µs) against
 * the number of containers, one line per method. No dependency.
 */
import { formatCount } from "./stats.js";

export type Series = { label: string; color: string; dashed?: boolean; points: { n: number; us: number }[] };

const W = 900;
const H = 440;
const M = { left: 80, right: 250, top: 48, bottom: 56 };

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

function usLabel(us: number): string {
  if (us < 1000) return `${us} µs`;
  if (us < 1e6) return `${us / 1000} ms`;
  return `${us / 1e6} s`;
}

function shortCount(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return formatCount(n);
}

/** decades returns the powers of ten from below lo to above hi. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

/** lookupChart returns the SVG document. Series without points are left out. */
export function lookupChart(title: string, series: readonly Series[]): string {
  const drawn = series.filter((s) => s.points.length > 0);
  const all = drawn.flatMap((s) => s.points);
  if (all.length === 0) throw new Error("drawing chart: no points");
  const xs = all.map((p) => p.n);
  const ys = all.map((p) => p.us);
  const xTicks = decades(Math.min(...xs), Math.max(...xs));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  // A little room past the outer decades, so no point sits on the frame.
  const [x0, x1] = [Math.log10(xTicks[0]!) - 0.15, Math.log10(xTicks[xTicks.length - 1]!) + 0.15];
  const [y0, y1] = [Math.log10(yTicks[0]!), Math.log10(yTicks[yTicks.length - 1]!)];
  const px = (n: number) => M.left + ((Math.log10(n) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (us: number) => H - M.bottom - ((Math.log10(us) - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const f = (v: number) => v.toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const t of xTicks) {
    out.push(`<line x1="${f(px(t))}" y1="${M.top}" x2="${f(px(t))}" y2="${H - M.bottom}" stroke="#ddd"/>`);
    out.push(`<text x="${f(px(t))}" y="${H - M.bottom + 18}" text-anchor="middle">${shortCount(t)}</text>`);
  }
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" y1="${f(py(t))}" x2="${W - M.right}" y2="${f(py(t))}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(py(t) + 4)}" text-anchor="end">${usLabel(t)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">containers in the root (log scale)</text>`,
    `<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">median time per lookup (log scale)</text>`,
  );
  for (const s of drawn) {
    const pts = [...s.points].sort((a, b) => a.n - b.n);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${f(px(p.n))},${f(py(p.us))}`).join(" ")}"/>`,
    );
    for (const p of pts) {
      out.push(`<circle cx="${f(px(p.n))}" cy="${f(py(p.us))}" r="3.5" fill="${s.color}"/>`);
    }
  }
  drawn.forEach((s, i) => {
    // The legend sits right of the plot, where no line can run under it.
    const [x, y] = [W - M.right + 12, M.top + 12 + i * 20];
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 28}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${x + 34}" y="${y}">${escapeXml(s.label)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
