/**
 * One measured task in a process of its own, so its time and peak RSS are its
 * own, and so it can be profiled with `node --cpu-prof`:
 *
 *   node dist/bench/child-task.js reconcile-full ROOT INDEX      full reconcile into a new index file
 *   node dist/bench/child-task.js read-parse ROOT                 read + JSON.parse every state file, one thread
 *   node dist/bench/child-task.js reconcile-incremental ROOT [PASSES]   incremental passes on the root's index
 *   node dist/bench/child-task.js resolve-loop ROOT [COUNT]       store.resolve of COUNT random 12-char prefixes
 *   node dist/bench/child-task.js save-loop ROOT [SECONDS]        store.save of ~500 loaded containers in a loop
 *
 * Prints one JSON line: ChildResult. Exit 1 with a message on failure, 2 on usage.
 */
import { opendirSync, readdirSync } from "node:fs";
import { Prng } from "../src/generate/prng.js";
import { openStore } from "../src/index.js";
import { readParseAll } from "./baselines.js";
import { saveLoop } from "./figures/save.js";
import { median, peakRss } from "./stats.js";

/** What a child task prints. `ms` is the task's own time, start-up excluded. */
export type ChildResult = {
  task: string;
  ms: number;
  /** VmHWM of the whole process (all threads), in MB. */
  peakRssMb: number;
  /** Files scanned or parsed, calls made, or saves done. */
  count: number;
  /** openStore's time, where the task opens one. */
  openMs?: number;
};

const STATE_NAME = /^([A-Za-z0-9_+.-]+)_sandbox:([A-Za-z0-9_+.-]+)\.state$/;

function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function reconcileFull(root: string, index: string): Promise<ChildResult> {
  const t0 = process.hrtime.bigint();
  const store = openStore({ root, index, inotify: false });
  const openMs = msSince(t0);
  const start = process.hrtime.bigint();
  let scanned: number;
  try {
    scanned = (await store.reconcile({ full: true })).scanned;
  } finally {
    // Timed too: closing checkpoints into the database what the pass left in the WAL.
    store.close();
  }
  return { task: "reconcile-full", ms: msSince(start), peakRssMb: peakRss(), count: scanned, openMs };
}

function readParse(root: string): ChildResult {
  const start = process.hrtime.bigint();
  const count = readParseAll(root);
  return { task: "read-parse", ms: msSince(start), peakRssMb: peakRss(), count };
}

async function reconcileIncremental(root: string, passes: number): Promise<ChildResult> {
  const store = openStore({ root, inotify: false });
  try {
    const times: number[] = [];
    let count = 0;
    for (let i = 0; i < passes; i++) {
      const start = process.hrtime.bigint();
      count = (await store.reconcile()).scanned;
      times.push(msSince(start));
    }
    return { task: "reconcile-incremental", ms: median(times.sort((a, b) => a - b)), peakRssMb: peakRss(), count };
  } finally {
    store.close();
  }
}

function resolveLoop(root: string, count: number): ChildResult {
  const ids = readdirSync(root).flatMap((name) => STATE_NAME.exec(name)?.[1] ?? []);
  if (ids.length === 0) throw new Error(`resolve-loop: no state files in "${root}"`);
  const prng = new Prng(7);
  const prefixes = Array.from({ length: count }, () => ids[prng.int(ids.length)]!.slice(0, 12));
  const store = openStore({ root });
  try {
    store.resolve(prefixes[0]!); // start the watch and check the sync outside the timing
    const start = process.hrtime.bigint();
    for (const prefix of prefixes) store.resolve(prefix);
    return { task: "resolve-loop", ms: msSince(start), peakRssMb: peakRss(), count };
  } finally {
    store.close();
  }
}

async function saveTask(root: string, seconds: number): Promise<ChildResult> {
  const store = openStore({ root });
  try {
    const containers = await loadSome(store, root);
    const start = process.hrtime.bigint();
    const saves = await saveLoop(store, containers, seconds * 1000);
    return { task: "save-loop", ms: msSince(start), peakRssMb: peakRss(), count: saves };
  } finally {
    store.close();
  }
}

// Only the first 500 names: a profile of the save loop should not be mostly a 100k-entry listing.
async function loadSome(store: ReturnType<typeof openStore>, root: string) {
  const ids: string[] = [];
  const dir = opendirSync(root);
  try {
    for (let entry = dir.readSync(); entry !== null && ids.length < 500; entry = dir.readSync()) {
      const id = STATE_NAME.exec(entry.name)?.[1];
      if (id) ids.push(id);
    }
  } finally {
    dir.closeSync();
  }
  const containers = [];
  for (const id of ids) containers.push(await store.load(id, { exact: true, skipCheck: true }));
  return containers;
}

async function main(argv: string[]): Promise<ChildResult> {
  const [task, root, arg] = argv;
  if (!root) throw new UsageError();
  switch (task) {
    case "reconcile-full":
      if (!arg) throw new UsageError();
      return reconcileFull(root, arg);
    case "read-parse":
      return readParse(root);
    case "reconcile-incremental":
      return reconcileIncremental(root, Number(arg ?? 5));
    case "resolve-loop":
      return resolveLoop(root, Number(arg ?? 20_000));
    case "save-loop":
      return saveTask(root, Number(arg ?? 3));
    default:
      throw new UsageError();
  }
}

class UsageError extends Error {}

try {
  process.stdout.write(`${JSON.stringify(await main(process.argv.slice(2)))}\n`);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(
      "usage: child-task reconcile-full|read-parse|reconcile-incremental|resolve-loop|save-loop ROOT [ARG]\n",
    );
    process.exit(2);
  }
  process.stderr.write(`child-task: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
