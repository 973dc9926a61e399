import { createRequire } from "node:module";
import os from "node:os";
import type { Worker, WorkerOptions } from "node:worker_threads";
import type { ParseRequest } from "./parse-worker.js";
import { decodeResults, type ReadResult } from "./read-state.js";

/**
 * Files per message: large enough to amortize messaging, small enough to keep
 * memory flat. A batch's rows live in the worker's small heap until posted:
 * 128 rather than 256 halved a worker's GC time at 100,000 files (fewer
 * survivors per scavenge) and cut the full pass by ~15% (medians of 6).
 */
export const BATCH_SIZE = 128;

/**
 * Batches queued at each worker: enough that it goes on reading while the
 * main thread commits a transaction of ~1,024 rows (tens of milliseconds).
 * With 2, the workers of a 100,000-file pass sat idle for half of it, and
 * the main thread waited on them in turn (5.4 s rather than 6.5 s with 8).
 */
const IN_FLIGHT_PER_WORKER = 8;

/**
 * readInWorkers reads `names` in batches across worker threads and hands
 * each batch's results to `onBatch` in completion order. A few batches per
 * worker are in flight, so memory stays bounded whatever the root's size.
 * Returns the names whose results were not handed on when a worker died
 * (out of its small heap on a huge file, say: the caller reads those in
 * its own thread); empty when every batch was read.
 */
export async function readInWorkers(
  root: string,
  names: readonly string[],
  withState: boolean,
  onBatch: (results: ReadResult[]) => void,
): Promise<string[]> {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += BATCH_SIZE) batches.push(names.slice(i, i + BATCH_SIZE) as string[]);
  const handed = new Uint8Array(batches.length);
  const count = Math.max(1, Math.min(os.availableParallelism(), batches.length, 4));
  const workers = Array.from({ length: count }, () => spawnWorker());
  let next = 0;
  /** feed queues the next batch at `worker`; returns its number, or -1 when none is left. */
  const feed = (worker: Worker): number => {
    if (next >= batches.length) return -1;
    worker.postMessage({ root, names: batches[next]!, withState } satisfies ParseRequest);
    return next++;
  };
  const take = (batch: number, flat: unknown[]): void => {
    onBatch(decodeResults(flat, batches[batch]!));
    handed[batch] = 1;
  };
  let failure: unknown;
  try {
    await Promise.all(workers.map((w) => drainWorker(w, feed, take)));
  } catch (e) {
    failure = e ?? new Error("worker failed");
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure === undefined) return [];
  if (!isWorkerFailure(failure)) throw failure;
  // Only now: until the workers ended, a batch's results could still arrive.
  return batches.filter((_, i) => handed[i] === 0).flat();
}

function isWorkerFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_WORKER_");
}

/** drainWorker keeps one worker fed until the batches run out, handing results on as they come (a worker answers in order). */
function drainWorker(
  worker: Worker,
  feed: (w: Worker) => number,
  take: (batch: number, flat: unknown[]) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const queued: number[] = [];
    for (let i = 0; i < IN_FLIGHT_PER_WORKER; i++) {
      const batch = feed(worker);
      if (batch < 0) break;
      queued.push(batch);
    }
    if (queued.length === 0) return resolve();
    worker.on("error", reject);
    worker.on("message", (flat: unknown[]) => {
      const batch = queued.shift()!;
      const queuedNext = feed(worker); // queue the next before the slow part below
      if (queuedNext >= 0) queued.push(queuedNext);
      try {
        take(batch, flat);
      } catch (e) {
        reject(e);
        return;
      }
      if (queued.length === 0) resolve();
    });
  });
}

/**
 * Small heaps: a worker holds a batch or two at a time. This keeps a full
 * pass at 100k files within its RSS budget, and was faster than larger heaps
 * here. A file too big for it kills the worker (ERR_WORKER_OUT_OF_MEMORY);
 * the reconciler then reads in its own thread. A young generation of 8 MB
 * cut a 100k pass's peak RSS by ~15 MB, but with it a CLI process once died
 * on Node's assertion in NodePlatform::ForIsolate (a background compile of a
 * worker being torn down started incremental marking): 16 MB, as before.
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 16 };

/**
 * workerThreads loads node:worker_threads on first use: ~7 ms a start,
 * which a one-shot `list` (its pass stats in place) would pay for nothing.
 */
function workerThreads(): typeof import("node:worker_threads") {
  return createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
}

/**
 * Under the TypeScript sources (tests run them through tsx or vite) the
 * worker is a .ts file: it registers tsx's loader first, since Node 20 does
 * not pass `--import` on to worker threads. The built package runs plain .js.
 * `base` is the URL of a module beside the worker (default: this folder).
 */
export function spawnWorker(
  name = "parse-worker",
  base: string = import.meta.url,
  data: Pick<WorkerOptions, "workerData" | "transferList" | "resourceLimits"> = {},
): Worker {
  const { Worker } = workerThreads();
  if (!base.endsWith(".ts")) {
    return new Worker(new URL(`./${name}.js`, base), { resourceLimits: RESOURCE_LIMITS, ...data });
  }
  const worker = new URL(`./${name}.ts`, base).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); })`;
  return new Worker(boot, { eval: true, resourceLimits: RESOURCE_LIMITS, ...data });
}
