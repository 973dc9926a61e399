import os from "node:os";
import type { Worker } from "node:worker_threads";
import type { FileInfo } from "../state/file-info.js";
import { STAT_FIELDS, type StatRequest } from "./stat-worker.js";
import { spawnWorker } from "./worker-pool.js";

/** Stats of many names, by position; undefined where the file is gone. */
export interface StatTable {
  get(i: number): FileInfo | undefined;
}

/**
 * statInWorkers lstats `names` in `dir` across worker threads, one share
 * each, and resolves when all are done. The caller's thread is free
 * meanwhile (the reconciler reads the index then).
 */
export async function statInWorkers(dir: string, names: readonly string[]): Promise<StatTable> {
  const count = Math.max(1, Math.min(os.availableParallelism(), 4));
  const share = Math.ceil(names.length / count);
  const parts = await Promise.all(
    Array.from({ length: count }, (_, k) => statShare(dir, names.slice(k * share, (k + 1) * share))),
  );
  return {
    get(i) {
      const part = parts[Math.floor(i / share)]!;
      const at = (i % share) * STAT_FIELDS;
      const size = part[at]!;
      if (Number.isNaN(size)) return undefined;
      return { size, mtimeMs: part[at + 1]!, ctimeMs: part[at + 2]!, ino: part[at + 3]! };
    },
  };
}

async function statShare(dir: string, names: readonly string[]): Promise<Float64Array> {
  const worker: Worker = spawnWorker("stat-worker");
  try {
    return await new Promise<Float64Array>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.postMessage({ dir, names } satisfies StatRequest);
    });
  } finally {
    await worker.terminate();
  }
}
