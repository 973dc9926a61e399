/**
 * Figure 3: a full reconcile on a fresh index against one thread reading and
 * JSON.parse-ing every state file, each in a child process of its own so its
 * peak RSS is its own; and an incremental reconcile with nothing changed
 * against listing the directory and lstat-ing every state file.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../../src/index.js";
import { statAll } from "../baselines.js";
import type { ChildResult } from "../child-task.js";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript, runJson } from "../processes.js";
import { median } from "../stats.js";

const PEAK_RSS_TARGET_MB = 200; // issue 13

/** runsFor: medians of 3 at 100k, more where a run is cheap. */
function runsFor(n: number, atSmall: number): number {
  return n >= 100_000 ? 3 : n >= 10_000 ? Math.max(3, Math.ceil(atSmall / 2)) : atSmall;
}

/** measureFullReconcile runs both children alternately; each full reconcile gets an index file of its own. */
export function measureFullReconcile(ctx: SizeContext): FigureRow[] {
  const script = benchScript("child-task");
  const runs = runsFor(ctx.n, 7);
  const ours: ChildResult[] = [];
  const theirs: ChildResult[] = [];
  const fullArgs = (index: string) => [script, "reconcile-full", ctx.root, index];
  for (let i = 0; i < runs; i++) {
    const index = join(ctx.work, `full-${i}`, "index.db");
    const result = runJson<ChildResult>([process.execPath, ...fullArgs(index)], "reconcile-full child");
    if (result.count !== ctx.n) throw new Error(`full reconcile scanned ${result.count} files, want ${ctx.n}`);
    ours.push(result);
    rmSync(join(ctx.work, `full-${i}`), { recursive: true, force: true });
    const parsed = runJson<ChildResult>([process.execPath, script, "read-parse", ctx.root], "read-parse child");
    if (parsed.count !== ctx.n) throw new Error(`read-parse parsed ${parsed.count} files, want ${ctx.n}`);
    theirs.push(parsed);
  }
  const oursMs = median(ours.map((r) => r.ms).sort((a, b) => a - b));
  const theirsMs = median(theirs.map((r) => r.ms).sort((a, b) => a - b));
  const oursRss = Math.max(...ours.map((r) => r.peakRssMb));
  const theirsRss = Math.max(...theirs.map((r) => r.peakRssMb));
  const ratio = ratioOf(oursMs, theirsMs);
  const profileIndex = join(ctx.work, "profile-full", "index.db");
  return [
    {
      key: "reconcile-full",
      figure: "full reconcile, fresh index (child process)",
      n: ctx.n,
      ours: { value: oursMs * 1000, unit: "us" },
      oursDetail: `median of ${runs}; open ${median(ours.map((r) => r.openMs ?? 0).sort((a, b) => a - b)).toFixed(0)} ms more`,
      comparison: { label: "read + JSON.parse every file, one thread (child)", value: theirsMs * 1000, unit: "us" },
      ratio,
      target: "≤ 0.7x",
      met: ratio <= 0.7,
      profile: { label: "reconcile-full child task", args: fullArgs(profileIndex) },
    },
    {
      key: "reconcile-full-rss",
      figure: "full reconcile peak RSS (VmHWM, child process)",
      n: ctx.n,
      ours: { value: oursRss, unit: "mb" },
      oursDetail: `highest of ${runs}`,
      comparison: { label: "read + JSON.parse child's peak RSS", value: theirsRss, unit: "mb" },
      ratio: ratioOf(oursRss, theirsRss),
      target: `≤ ${PEAK_RSS_TARGET_MB} MB`,
      met: oursRss <= PEAK_RSS_TARGET_MB,
    },
  ];
}

/**
 * measureIncrementalReconcile alternates store.reconcile() (nothing changed
 * since the store's first reconcile) with statAll. Throws if a pass finds changes.
 */
export async function measureIncrementalReconcile(ctx: SizeContext, store: Store): Promise<FigureRow> {
  const runs = runsFor(ctx.n, 15);
  const ours: number[] = [];
  const theirs: number[] = [];
  await store.reconcile(); // warm-up
  statAll(ctx.root);
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const report = await store.reconcile();
    ours.push(Number(process.hrtime.bigint() - start) / 1000);
    const changed = report.added + report.updated + report.removed;
    if (changed > 0 || report.scanned !== ctx.n) {
      throw new Error(`incremental reconcile with nothing changed found ${changed} changes in ${report.scanned} files`);
    }
    const t0 = process.hrtime.bigint();
    statAll(ctx.root);
    theirs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const oursUs = median(ours.sort((a, b) => a - b));
  const theirsUs = median(theirs.sort((a, b) => a - b));
  const ratio = ratioOf(oursUs, theirsUs);
  const passes = ctx.n >= 100_000 ? 3 : 10;
  return {
    key: "reconcile-incremental",
    figure: "incremental reconcile, nothing changed (in process)",
    n: ctx.n,
    ours: { value: oursUs, unit: "us" },
    oursDetail: `median of ${runs}`,
    comparison: { label: "list + lstat every state file", value: theirsUs, unit: "us" },
    ratio,
    target: "≤ 1.2x",
    met: ratio <= 1.2,
    profile: {
      label: `reconcile-incremental child task (${passes} passes)`,
      args: [benchScript("child-task"), "reconcile-incremental", ctx.root, String(passes)],
    },
  };
}
