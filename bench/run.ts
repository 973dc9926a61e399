/**
 * The benchmark harness of SPEC section 7 (issue 5):
 *
 *   npm run bench                       sizes 1000, 10000, 100000
 *   npm run bench -- --n 100000         one size (--n repeatable or comma-separated)
 *
 * For each size it generates a root, measures every figure beside its
 * comparison in the same run, and removes the root. It prints the markdown
 * table and writes bench/results/results.md and bench/results/lookup.svg.
 * Roots go on tmpfs (/dev/shm) when it is there: runsc's roots live on tmpfs
 * (/run) in production, and ext4 is very slow to create files right after
 * mass deletions (see src/generate/generate.ts).
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { generateRoot } from "../src/generate/generate.js";
import { Prng } from "../src/generate/prng.js";
import { openStore } from "../src/index.js";
import { type BenchArgs, parseArgs, USAGE, UsageError } from "./args.js";
import { cleanupNow, installSignalCleanup, trackDir } from "./cleanup.js";
import { collectGarbage, type FigureRow, type SizeContext } from "./figure.js";
import { measureChurn } from "./figures/churn.js";
import { measureExport } from "./figures/export.js";
import { measureAfterForeignChange } from "./figures/foreign-change.js";
import { measureFind } from "./figures/processes.js";
import { measureFullReconcile, measureIncrementalReconcile } from "./figures/reconcile.js";
import { measureResolve } from "./figures/resolve.js";
import { measureAgainstRunsc, NO_RUNSC_NOTE, RUNSC_PATH, realRunsc } from "./figures/runsc.js";
import { measureSave } from "./figures/save.js";
import { measureWatch } from "./figures/watch.js";
import { repoRoot } from "./fixtures.js";
import { formatProfile, profileTask } from "./profile.js";
import { figuresTable, formatMeasure, notesList, resultsMarkdown } from "./report.js";
import { formatRatio, machineDescription } from "./stats.js";
import { lookupChart, type Series } from "./svg.js";

const CHURN_MS = 5000;

type SizeResult = {
  rows: FigureRow[];
  seconds: number;
  generateS: number;
  profiles: string[];
  /** 1-minute load average at the start and the end: the machine is shared. */
  load: [number, number];
};

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function progressRow(r: FigureRow): void {
  const vs = r.comparison ? ` vs ${formatMeasure(r.comparison)}` : "";
  const ratio = r.ratio === undefined ? "" : ` = ${formatRatio(r.ratio)}`;
  const met = r.met === undefined ? "" : r.met ? " [met]" : " [NOT met]";
  progress(`  ${r.figure}: ${formatMeasure(r.ours)}${vs}${ratio}${met}`);
}

/** scratchParent picks /dev/shm when it is a writable directory, else the temp dir; says which. */
function scratchParent(): { dir: string; why: string } {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return { dir: "/dev/shm", why: "tmpfs at /dev/shm, as runsc's roots are on tmpfs (/run) in production" };
  } catch {
    return { dir: tmpdir(), why: `${tmpdir()} (/dev/shm is not writable here)` };
  }
}

async function measureSize(base: string, n: number, args: BenchArgs, largest: boolean): Promise<SizeResult> {
  const start = process.hrtime.bigint();
  const loadAtStart = loadavg()[0]!;
  progress(`\n== n = ${n} (load average ${loadAtStart.toFixed(1)})`);
  const gen = await generateRoot(join(base, `root-${n}`), n, { seed: n });
  const generateS = secondsSince(start);
  progress(
    `  generated ${n} containers (${(gen.bytes / 2 ** 20).toFixed(0)} MB of state) in ${generateS.toFixed(1)} s`,
  );
  const work = join(base, `work-${n}`);
  mkdirSync(work);
  const ctx: SizeContext = { n, root: gen.dir, work, containers: gen.containers, prng: new Prng(n + 1) };
  const rows: FigureRow[] = [];
  const add = (...more: FigureRow[]) => {
    for (const r of more) progressRow(r);
    rows.push(...more);
    collectGarbage();
  };
  let profiles: string[] = [];
  try {
    add(...measureFullReconcile(ctx));
    const store = openStore({ root: gen.dir });
    try {
      const first = await store.reconcile();
      progress(`  first reconcile of the store: ${first.scanned} files in ${(first.durationMs / 1000).toFixed(2)} s`);
      const resolve = measureResolve(ctx, store);
      add(resolve.row);
      add(await measureIncrementalReconcile(ctx, store));
      const find = measureFind(ctx);
      add(...find.rows);
      const againstRunsc = measureAgainstRunsc(ctx);
      add(...againstRunsc);
      // runsc has no find; its state does the same lookup, so the find row shows runsc state beside it.
      const runscState = againstRunsc.find((r) => r.key === "state")?.runsc;
      for (const r of find.rows) if (r.key === "find") r.runsc = runscState;
      add(...measureAfterForeignChange(ctx));
      add(await measureChurn(ctx, store, CHURN_MS, resolve.oursMedianUs));
      add(await measureSave(ctx, store));
      add(...(await measureExport(ctx, store)));
      add(...(await measureWatch(ctx)));
      // The bare writes changed files behind the index: bring it back in line for the profiles.
      await store.reconcile();
    } finally {
      store.close();
    }
    if (largest) profiles = profileRows(rows, args, work);
  } finally {
    rmSync(gen.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
  return { rows, seconds: secondsSince(start), generateS, profiles, load: [loadAtStart, loadavg()[0]!] };
}

/** profileRows profiles the rows `args.profile` asks for (their roots must still exist); returns markdown sections. */
function profileRows(rows: readonly FigureRow[], args: BenchArgs, work: string): string[] {
  if (args.profile === "none") return [];
  const wanted = rows.filter((r) => (args.profile === "all" ? r.profile : r.met === false));
  const out: string[] = [];
  for (const r of wanted) {
    if (!r.profile) {
      out.push(`**${r.figure}**: not met; no child task reproduces it alone, so it is not profiled automatically.`);
      continue;
    }
    progress(`  profiling ${r.profile.label} ...`);
    const summary = profileTask(r.profile, join(work, "profiles", r.key));
    out.push(`### ${r.figure}\n\n${formatProfile(summary)}`);
  }
  return out;
}

function chartSeries(rows: readonly FigureRow[]): Series[] {
  const points = (key: string, which: "ours" | "comparison") =>
    rows.flatMap((r) => {
      const m = r.key === key ? r[which] : undefined;
      return m ? [{ n: r.n, us: m.value }] : [];
    });
  const runscPoints = (key: string) =>
    rows.flatMap((r) => (r.key === key && r.runsc ? [{ n: r.n, us: r.runsc.value }] : []));
  return [
    { label: "runsc-index find", color: "#1f77b4", points: points("find", "ours") },
    { label: "runsc-index state", color: "#2ca02c", points: points("state", "ours") },
    { label: "runsc-index list", color: "#9467bd", points: points("list-table", "ours") },
    { label: "runsc state", color: "#2ca02c", dashed: true, points: runscPoints("state") },
    { label: "runsc list", color: "#9467bd", dashed: true, points: runscPoints("list-table") },
    { label: "node -e ''", color: "#7f7f7f", dashed: true, points: points("node-startup", "ours") },
  ].filter((s) => s.points.length > 0);
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message ? `run.js: ${e.message}\n` : ""}${USAGE}\n`);
    process.exit(e.message ? 2 : 0);
  }
  installSignalCleanup();
  const started = process.hrtime.bigint();
  const scratch = scratchParent();
  const base = trackDir(mkdtempSync(join(scratch.dir, "runsc-bench-")));
  const machine = machineDescription(base).summary;
  progress(`runsc-index benchmark: sizes ${args.sizes.join(", ")}; roots under ${base} (${scratch.why})`);
  progress(realRunsc() ? `comparing with the real runsc: ${RUNSC_PATH}` : `note: ${NO_RUNSC_NOTE}`);
  if (!existsSync(join(repoRoot(), "dist", "src", "cli", "main.cjs"))) {
    progress("note: dist/src/cli/main.cjs is missing; find and list use bench/cli-standin.ts (labelled STAND-IN)");
  }
  try {
    const results: SizeResult[] = [];
    for (const [i, n] of args.sizes.entries()) {
      results.push(await measureSize(base, n, args, i === args.sizes.length - 1));
    }
    const rows = results.flatMap((r) => r.rows);
    const elapsedS = secondsSince(started);
    const largest = args.sizes[args.sizes.length - 1]!;
    const profiles = results.flatMap((r) => r.profiles);
    const anyUnmet = rows.some((r) => r.n === largest && r.met === false);
    const profileNote =
      args.profile === "none"
        ? "Profiling was turned off (--profile none)."
        : args.profile === "all"
          ? `Every figure with a task of its own, profiled with \`node --cpu-prof\` at n = ${largest}; top self time per thread kind.`
          : anyUnmet
            ? `Figures whose target was not met at n = ${largest}, profiled with \`node --cpu-prof\`; top self time per thread kind.`
            : `Every target was met at n = ${largest}, so nothing was profiled (\`--profile all\` profiles every figure).`;
    const outDir = args.out ?? join(repoRoot(), "bench", "results");
    const notesFile = join(repoRoot(), "bench", "results", "notes.md");
    const notes = existsSync(notesFile) ? readFileSync(notesFile, "utf8").trim() : "";
    const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const markdown = resultsMarkdown({
      date,
      machine,
      rootsOn: scratch.why,
      sizes: args.sizes,
      elapsedS,
      perSizeS: results.map((r, i) => ({ n: args.sizes[i]!, s: r.seconds, generateS: r.generateS, load: r.load })),
      rows,
      profiles,
      profileNote,
      notes,
    });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "results.md"), markdown);
    writeFileSync(
      join(outDir, "lookup.svg"),
      lookupChart("Whole-process time against n: runsc-index, runsc, node's start-up", chartSeries(rows)),
    );
    console.log(`\nMachine: ${machine}\nDate: ${date}\n`);
    console.log(figuresTable(rows));
    console.log(`\n${notesList(rows)}`);
    console.log(`\nTotal time ${elapsedS.toFixed(0)} s. Wrote ${join(outDir, "results.md")} and lookup.svg.`);
  } finally {
    cleanupNow();
  }
}

await main();
