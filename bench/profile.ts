/**
 * Where the time goes: run a figure's task under `node --cpu-prof` and sum
 * the samples' self time by function, per thread kind (the main thread, and
 * the reconciler's worker threads together).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProfileTask } from "./figure.js";
import { repoRoot } from "./fixtures.js";

/** Sampling interval in µs: fine enough for a 0.2 s process, coarse enough for a 10 s one. */
const INTERVAL_US = 200;

export type HotFunction = { fn: string; where: string; selfMs: number; pct: number };
export type ThreadProfile = { thread: string; totalMs: number; top: HotFunction[] };
export type ProfileSummary = { label: string; wallMs: number; threads: ThreadProfile[] };

type CpuProfile = {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
};

/** profileTask runs `node --cpu-prof ... task.args` with its profiles in `dir` (created) and summarizes them. */
export function profileTask(task: ProfileTask, dir: string, top = 10): ProfileSummary {
  mkdirSync(dir, { recursive: true });
  const args = ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", String(INTERVAL_US), ...task.args];
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`profiling ${task.label}: exit ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  const byThread = new Map<string, Map<string, HotFunction>>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
    const thread = file.split(".")[4] === "0" ? "main thread" : "worker threads";
    const fns = byThread.get(thread) ?? new Map<string, HotFunction>();
    byThread.set(thread, fns);
    addSelfTimes(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile, fns);
  }
  const threads = [...byThread].map(([thread, fns]): ThreadProfile => {
    const all = [...fns.values()].filter((f) => f.fn !== "(idle)");
    const totalMs = all.reduce((sum, f) => sum + f.selfMs, 0);
    const sorted = all.sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
    return { thread, totalMs, top: sorted.map((f) => ({ ...f, pct: (100 * f.selfMs) / totalMs })) };
  });
  threads.sort((a, b) => (a.thread === "main thread" ? -1 : b.thread === "main thread" ? 1 : 0));
  return { label: task.label, wallMs, threads };
}

function addSelfTimes(profile: CpuProfile, into: Map<string, HotFunction>): void {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const prefix = `file://${repoRoot()}/`;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample lasts until the next one (DevTools' rule); the last gets nothing.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = frames.get(profile.samples[i]!);
    if (!frame || ms <= 0) continue;
    const fn = frame.functionName || "(anonymous)";
    const where = frame.url ? `${frame.url.replace(prefix, "")}:${frame.lineNumber + 1}` : "";
    const key = `${fn} ${where}`;
    const hot = into.get(key) ?? { fn, where, selfMs: 0, pct: 0 };
    hot.selfMs += ms;
    into.set(key, hot);
  }
}

/** formatProfile renders a summary as markdown: one table per thread kind. */
export function formatProfile(p: ProfileSummary): string {
  const gist = p.threads
    .map(
      (t) =>
        `${t.thread}: ${t.top
          .slice(0, 3)
          .map((f) => `\`${f.fn}\` ${f.pct.toFixed(0)}%`)
          .join(", ")}`,
    )
    .join("; ");
  const lines = [
    `**${p.label}** (profiled run ${(p.wallMs / 1000).toFixed(2)} s wall, sampled every ${INTERVAL_US} µs). Top self time: ${gist}.`,
  ];
  for (const t of p.threads) {
    lines.push("", `${t.thread}: ${t.totalMs.toFixed(0)} ms of samples`, "", "| self | % | function | where |");
    lines.push("| ---: | ---: | --- | --- |");
    for (const f of t.top) {
      lines.push(
        `| ${f.selfMs.toFixed(0)} ms | ${f.pct.toFixed(1)} | \`${f.fn}\` | ${f.where ? `\`${f.where}\`` : ""} |`,
      );
    }
  }
  return lines.join("\n");
}
