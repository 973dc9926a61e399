import os from "node:os";
import { Worker } from "node:worker_threads";
import type { ParseRequest } from "./parse-worker.js";
import type { ReadResult } from "./read-state.js";

/** Files per message: large enough to amortize messaging, small enough to keep memory flat. */
export const BATCH_SIZE = 256;

/**
 * readInWorkers reads `names` in batches across worker threads and hands
 * each batch's results to `onBatch` in completion order. One batch per
 * worker is in flight, so memory stays bounded whatever the root's size.
 */
export async function readInWorkers(
  root: string,
  names: readonly string[],
  withState: boolean,
  onBatch: (results: ReadResult[]) => void,
): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += BATCH_SIZE) batches.push(names.slice(i, i + BATCH_SIZE) as string[]);
  const workers = Array.from(
    { length: Math.max(1, Math.min(os.availableParallelism(), batches.length, 4)) },
    spawnWorker,
  );
  try {
    let next = 0;
    await Promise.all(
      workers.map(async (worker) => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          onBatch(await request(worker, { root, names: batch, withState }));
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function request(worker: Worker, req: ParseRequest): Promise<ReadResult[]> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      worker.off("message", onMessage);
      reject(e);
    };
    const onMessage = (results: ReadResult[]) => {
      worker.off("error", onError);
      resolve(results);
    };
    worker.once("message", onMessage);
    worker.once("error", onError);
    worker.postMessage(req);
  });
}

/** Small heaps: a worker holds one batch at a time; this keeps a full pass within its RSS budget. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 48 };

/**
 * Under the TypeScript sources (tests run them through tsx or vite) the
 * worker is a .ts file: it registers tsx's loader first, since Node 20 does
 * not pass `--import` on to worker threads. The built package runs plain .js.
 */
function spawnWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./parse-worker.js", import.meta.url), { resourceLimits: RESOURCE_LIMITS });
  }
  const worker = new URL("./parse-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); })`;
  return new Worker(boot, { eval: true, resourceLimits: RESOURCE_LIMITS });
}
