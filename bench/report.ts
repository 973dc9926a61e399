/**
 * The results as markdown: the figures table (one row per figure per size,
 * each beside its comparison), the growth table, and the whole results.md.
 */
import type { FigureRow, Measure } from "./figure.js";
import { formatCount, formatMicros, formatRatio } from "./stats.js";

/** The size SPEC section 7 states its targets at; other sizes show the check in parentheses. */
export const TARGET_SIZE = 100_000;

export function formatMeasure(m: Measure): string {
  switch (m.unit) {
    case "us":
      return formatMicros(m.value);
    case "mb":
      return `${m.value.toFixed(0)} MB`;
    case "per_s":
      return `${formatCount(m.value)}/s`;
  }
}

function formatRatioCell(row: FigureRow): string {
  if (row.ratio === undefined || !Number.isFinite(row.ratio)) return "—";
  const text = formatRatio(row.ratio);
  if (row.ours.unit === "us" && row.ratio < 0.1) return `${text} (${formatCount(1 / row.ratio)}x faster)`;
  return text;
}

function formatMet(row: FigureRow): string {
  if (row.met === undefined) return "—";
  const word = row.met ? "yes" : "**no**";
  return row.n === TARGET_SIZE ? word : `(${word})`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** figuresTable renders the rows, grouped by figure, ascending n within each. */
export function figuresTable(rows: readonly FigureRow[]): string {
  const order = [...new Set(rows.map((r) => r.key))];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key) || a.n - b.n);
  const lines = [
    "| figure | n | ours | comparison | ratio | real runsc | `node -e ''` | target | met? |",
    "| --- | ---: | --- | --- | ---: | ---: | ---: | --- | :-: |",
  ];
  for (const r of sorted) {
    const ours = `**${formatMeasure(r.ours)}**${r.oursDetail ? ` (${r.oursDetail})` : ""}`;
    const comparison = r.comparison
      ? `${formatMeasure(r.comparison)}: ${r.comparison.label}${r.comparison.detail ? ` (${r.comparison.detail})` : ""}`
      : "—";
    const optional = (m: Measure | undefined) => (m ? formatMeasure(m) : "—");
    const fields = [
      r.figure,
      formatCount(r.n),
      ours,
      comparison,
      formatRatioCell(r),
      optional(r.runsc),
      optional(r.nodeStart),
      r.target,
      formatMet(r),
    ];
    lines.push(`| ${fields.map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** notesList renders every row's notes, once each, prefixed by the figure and size. */
export function notesList(rows: readonly FigureRow[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const r of rows) {
    for (const note of r.notes ?? []) {
      const general = note.startsWith("The spec's") || note.startsWith("dist/src/cli") || note.startsWith("A save");
      if (general && seen.has(note)) continue;
      seen.add(note);
      lines.push(general ? `- ${r.figure}: ${note}` : `- ${r.figure}, n = ${formatCount(r.n)}: ${note}`);
    }
  }
  return lines.join("\n");
}

/** Growth between two sizes, as the factor per 10x more containers. */
function perDecade(a: { n: number; v: number }, b: { n: number; v: number }): string {
  if (!(a.v > 0 && b.v > 0) || a.n === b.n) return "—";
  return `${((b.v / a.v) ** (1 / Math.log10(b.n / a.n))).toFixed(2)}x`;
}

/** growthTable shows each figure's cost at every size, ours and the comparison, and how it grows per 10x n. */
export function growthTable(rows: readonly FigureRow[]): string {
  const sizes = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const head = `| figure | method | ${sizes.map((n) => `n = ${formatCount(n)}`).join(" | ")} | per 10x n |`;
  const lines = [head, `| --- | --- | ${sizes.map(() => "---:").join(" | ")} | ---: |`];
  for (const key of new Set(rows.map((r) => r.key))) {
    const mine = rows.filter((r) => r.key === key).sort((a, b) => a.n - b.n);
    const series = [
      { method: "ours", pick: (r: FigureRow): Measure | undefined => r.ours },
      { method: mine[0]?.comparison?.label ?? "", pick: (r: FigureRow): Measure | undefined => r.comparison },
    ];
    for (const { method, pick } of series) {
      if (mine.every((r) => pick(r) === undefined)) continue;
      const at = sizes.map((n) => {
        const m = mine.find((r) => r.n === n);
        const v = m && pick(m);
        return v ? formatMeasure(v) : "—";
      });
      const pts = mine.flatMap((r) => {
        const v = pick(r);
        return v ? [{ n: r.n, v: v.value }] : [];
      });
      const growth = pts.length >= 2 ? perDecade(pts[0]!, pts[pts.length - 1]!) : "—";
      lines.push(`| ${cell(mine[0]!.figure)} | ${cell(method)} | ${at.join(" | ")} | ${growth} |`);
    }
  }
  return lines.join("\n");
}

export type ReportInput = {
  date: string;
  machine: string;
  rootsOn: string;
  sizes: number[];
  elapsedS: number;
  perSizeS: { n: number; s: number; generateS: number; load: [number, number] }[];
  rows: FigureRow[];
  profiles: string[];
  profileNote: string;
  /** bench/results/notes.md: a hand-written reading of the profiles, kept across runs. */
  notes: string;
};

/** resultsMarkdown is the whole of bench/results/results.md. */
export function resultsMarkdown(r: ReportInput): string {
  const unmet = r.rows.filter((row) => row.met === false && row.n === TARGET_SIZE);
  return `# Benchmark results

Measured ${r.date} by \`npm run bench${r.sizes.join(",") === "1000,10000,100000" ? "" : ` -- --n ${r.sizes.join(",")}`}\` in ${r.elapsedS.toFixed(0)} s
(${r.perSizeS.map((s) => `n = ${formatCount(s.n)}: ${s.s.toFixed(0)} s, of which generating the root ${s.generateS.toFixed(2)} s`).join("; ")}).

- Machine: ${r.machine}
- Roots: ${r.rootsOn}
- Every figure is measured in the same run as its comparison, interleaved where cheap; medians throughout.
  The machine is shared with other engineers' test runs, so figures are noisy; ratios are steadier than
  absolute times. 1-minute load average (2 cores) at the start and end of each size:
  ${r.perSizeS.map((s) => `n = ${formatCount(s.n)}: ${s.load[0].toFixed(1)} → ${s.load[1].toFixed(1)}`).join("; ")}.
- Targets (SPEC section 7) are stated at n = 100,000; at other sizes "met?" is shown in parentheses.
${unmet.length === 0 ? "" : `- Not met at n = 100,000: ${unmet.map((u) => u.figure).join("; ")}.\n`}
## Figures

${figuresTable(r.rows)}

${notesList(r.rows)}

## How each cost grows with n

${growthTable(r.rows)}

![lookup time against n, ours and runsc's list-and-filter](lookup.svg)

## Where the time goes

${r.notes ? `${r.notes}\n\n` : ""}${r.profileNote}

${r.profiles.join("\n\n")}

## Method

- **Roots**: \`src/generate/generate.ts\` writes n real-format state files (~7 KB, from the fixtures in
  \`test/fixtures/runsc\`) and their empty \`.lock\` files, in sandboxes of 1-5 containers, with
  seeded random 64-hex IDs. Sandbox PIDs are above PID_MAX, so liveness reports every container stopped.
- **resolve** (figure 1): \`openStore({root})\`, one \`reconcile()\`, then \`store.resolve(prefix)\` for
  12-character prefixes of random existing IDs, each call timed alone. runsc's method
  (\`bench/baselines.ts\` \`runscPrefixLookup\`: glob, i.e. list and sort the directory, filter by prefix,
  fall back to a full list on several hits) runs between the rounds on the same directory, fewer times.
- **resolve under churn** (figure 2): \`bench/churn-child.ts\` creates a container every 20 ms as runsc does
  (flock on the new \`.lock\`, \`.state\` written in place, unlock) and destroys the oldest once more than 10
  are alive, printing each step with its CLOCK_MONOTONIC time. The parent resolves the newest, a live, a
  destroyed and an untouched ID in turn, yielding to the event loop between calls; afterwards each call is
  judged against the child's times (see \`bench/figures/churn.ts\`).
- **full reconcile** (figure 3): each run is its own process (\`bench/child-task.ts\`), ours into a new
  index file, the baseline reading and \`JSON.parse\`-ing every state file in one thread; peak RSS is the
  process's VmHWM. The incremental pass is timed in process against listing plus \`lstat\` of every file.
- **find / list** (figures 4, 5): whole processes from spawn to exit, stdout to a file, against
  \`bench/runsc-lookup-process.ts\` and \`bench/runsc-list-process.ts\` (runsc's algorithms in Node: there
  is no Go toolchain here). The index is current, as after any earlier command; \`list\` is fresh (the
  CLI default: every file is checked).
- **save** (figure 6): ~500 containers loaded, then \`store.save(doc)\` with the status flipped, round
  robin, against open + flock + \`writeFileSync\` in place + unlock of the same files.
`;
}
