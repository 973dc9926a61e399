/**
 * The watch figures (issue 11): what an idle `runsc-index watch` costs on
 * this root (CPU over an interval, and whether it wrote the index), and how
 * long a change takes to be visible to another process's `find` and to be
 * delivered to an events() subscriber. Standalone: `node dist/bench/figures/watch.js N`
 * generates a root of N containers and prints the figures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../../src/index.js";
import type { StoreEvent } from "../../src/watch/events.js";
import { trackChild } from "../cleanup.js";
import type { FigureRow, SizeContext } from "../figure.js";
import { benchScript, cliScript } from "../processes.js";
import { median, p99 } from "../stats.js";

const IDLE_MS = 10_000;
const CHANGES = 100;
const SPACING_MS = 20;
const TICKS = 100; // USER_HZ on Linux

/** cpuTicks is utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function walStamp(root: string): string {
  const st = fs.statSync(path.join(root, ".runsc-index", "index.db-wal"), { throwIfNoEntry: false });
  const db = fs.statSync(path.join(root, ".runsc-index", "index.db"));
  return `${st?.mtimeMs}:${st?.size}:${db.mtimeMs}:${db.size}`;
}

async function startWatch(root: string): Promise<ChildProcess> {
  const cli = cliScript();
  if (!cli) throw new Error("the CLI is not built: npm run build");
  const child = trackChild(
    spawn(process.execPath, [cli, "--root", root, "watch"], { stdio: ["ignore", "ignore", "pipe"] }),
  );
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      if (String(d).includes("watching ")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`watch exited with ${code}`)));
  });
  return child;
}

/** newStateText: an existing root container's file with its ID replaced (IDs are unique 64-hex strings). */
function stateTemplate(ctx: SizeContext): (id: string) => string {
  const root = ctx.containers.find((c) => c.containerId === c.sandboxId)!;
  const text = fs.readFileSync(path.join(ctx.root, `${root.containerId}_sandbox:${root.sandboxId}.state`), "utf8");
  return (id) => text.split(root.containerId).join(id);
}

function benchId(i: number): string {
  return `watchbench${String(i).padStart(54, "0")}`;
}

function removeBenchFiles(root: string): void {
  for (let i = 0; i < CHANGES; i++)
    fs.rmSync(path.join(root, `${benchId(i)}_sandbox:${benchId(i)}.state`), { force: true });
}

/** measureWatch returns the idle-cost and latency rows for this root. */
export async function measureWatch(ctx: SizeContext): Promise<FigureRow[]> {
  removeBenchFiles(ctx.root); // left by an interrupted run: they must be new
  const watch = await startWatch(ctx.root);
  try {
    // Idle: nothing changes for IDLE_MS.
    await sleep(1_000);
    const ticks0 = cpuTicks(watch.pid!);
    const wal0 = walStamp(ctx.root);
    const t0 = performance.now();
    await sleep(IDLE_MS);
    const cpuPct = ((cpuTicks(watch.pid!) - ticks0) / TICKS / ((performance.now() - t0) / 1000)) * 100;
    const idleWrites = walStamp(ctx.root) !== wal0;

    // Latency: a new container, written as runsc does (temp file + rename is ours; runsc writes in place).
    const reader = trackChild(
      spawn(process.execPath, [benchScript("watch-reader"), ctx.root], { stdio: ["pipe", "pipe", "inherit"] }),
    );
    const lines = createInterface({ input: reader.stdout! })[Symbol.asyncIterator]();
    await lines.next(); // ready
    const store = openStore({ root: ctx.root, inotify: false });
    const abort = new AbortController();
    const delivered = new Map<string, number>();
    const consumer = (async () => {
      for await (const e of store.events({ watch: false, signal: abort.signal }) as AsyncIterable<StoreEvent>) {
        if (e.type === "created") delivered.set(e.containerId, performance.timeOrigin + performance.now());
      }
    })();
    const text = stateTemplate(ctx);
    const found: number[] = [];
    const events: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const id = benchId(i);
      const file = path.join(ctx.root, `${id}_sandbox:${id}.state`);
      const written = performance.timeOrigin + performance.now();
      fs.writeFileSync(file, text(id));
      reader.stdin!.write(`${id}\n`);
      const line = (await lines.next()).value as string;
      found.push(Number(line.split(" ")[1]) - written);
      for (let w = 0; w < 2_000 && !delivered.has(id); w++) await sleep(1);
      events.push((delivered.get(id) ?? Number.NaN) - written);
      await sleep(SPACING_MS);
    }
    abort.abort();
    await consumer;
    store.close();
    reader.stdin!.end();
    removeBenchFiles(ctx.root);
    const sortedFound = found.sort((a, b) => a - b);
    const sortedEvents = events.sort((a, b) => a - b);
    const ms = (v: number) => ({ value: v * 1000, unit: "us" as const });
    return [
      {
        key: "watch-idle-cpu",
        figure: `idle watch: CPU time per second over ${IDLE_MS / 1000} s; index written: ${idleWrites ? "yes" : "no"}`,
        n: ctx.n,
        ours: { value: cpuPct * 10_000, unit: "us" }, // 1% of a core = 10 ms per s
        oursDetail: `${cpuPct.toFixed(3)}% of one core`,
        target: "< 0.5% of one core (5 ms/s), no index writes",
        met: cpuPct < 0.5 && !idleWrites,
      },
      {
        key: "watch-find-latency",
        figure: "change visible to another process's find",
        n: ctx.n,
        ours: ms(median(sortedFound)),
        oursDetail: `p99 ${p99(sortedFound).toFixed(1)} ms`,
        target: "median < 50 ms, p99 < 200 ms",
        met: median(sortedFound) < 50 && p99(sortedFound) < 200,
      },
      {
        key: "watch-event-latency",
        figure: "change delivered as an event (events() subscriber)",
        n: ctx.n,
        ours: ms(median(sortedEvents)),
        oursDetail: `p99 ${p99(sortedEvents).toFixed(1)} ms`,
        target: "median < 50 ms, p99 < 200 ms",
        met: median(sortedEvents) < 50 && p99(sortedEvents) < 200,
      },
    ];
  } finally {
    watch.kill("SIGTERM");
    await new Promise((r) => watch.once("exit", r));
  }
}

/**
 * Standalone: `watch.js N` generates a root of N containers on tmpfs,
 * measures, prints and removes it; `watch.js DIR` measures an existing root.
 */
async function main(): Promise<void> {
  const arg = process.argv[2] ?? "100000";
  const { Prng } = await import("../../src/generate/prng.js");
  const existing = fs.existsSync(arg) && fs.statSync(arg).isDirectory();
  const base = existing
    ? undefined
    : fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "watch-bench-"));
  try {
    let root = arg;
    let containers: SizeContext["containers"];
    if (base) {
      const { generateRoot } = await import("../../src/generate/generate.js");
      const gen = await generateRoot(path.join(base, "root"), Number(arg));
      root = gen.dir;
      containers = gen.containers;
    } else {
      const { parseStateFileName } = await import("../../src/ids/file-names.js");
      containers = fs.readdirSync(root).flatMap((name) => parseStateFileName(name) ?? []);
    }
    process.stderr.write(`root of ${containers.length} containers; reconciling\n`);
    const store = openStore({ root });
    await store.reconcile();
    store.close();
    process.stderr.write("measuring\n");
    const n = containers.length;
    const rows = await measureWatch({ n, root, work: base ?? root, containers, prng: new Prng(n) });
    for (const r of rows) {
      console.log(
        `${r.figure} (n=${n}): ${(r.ours.value / 1000).toFixed(2)} ms, ${r.oursDetail} ${r.met ? "[met]" : "[NOT met]"}`,
      );
    }
  } finally {
    if (base) fs.rmSync(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await main();
