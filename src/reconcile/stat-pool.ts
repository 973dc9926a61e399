import os from "node:os";
import type { Worker } from "node:worker_threads";
import type { FileInfo } from "../state/file-info.js";
import { digestOf } from "./files-digest.js";
import { STAT_FIELDS, type StatReply, type StatRequest } from "./stat-worker.js";
import { spawnWorker } from "./worker-pool.js";

/** Stats of many names, by position; undefined where the file is gone. */
export interface StatTable {
  get(i: number): FileInfo | undefined;
  /** From worker threads: the digest of the names with their stats (files-digest.ts), and the latest mtime. */
  readonly digest?: { readonly text: string; readonly maxMtimeMs: number };
}

/**
 * StatWorkers: worker threads for one stat() call, spawned ahead of it so
 * they boot while the caller lists the root. stat() or close() ends them.
 */
export class StatWorkers {
  readonly #workers: Worker[];

  constructor() {
    const count = Math.max(1, Math.min(os.availableParallelism(), 4));
    this.#workers = Array.from({ length: count }, () => spawnWorker("stat-worker"));
  }

  /**
   * stat lstats `names` in `dir` across the workers, one share each, and
   * resolves when all are done. The caller's thread is free meanwhile.
   */
  async stat(dir: string, names: readonly string[]): Promise<StatTable> {
    const share = Math.ceil(names.length / this.#workers.length);
    try {
      const replies = await Promise.all(
        this.#workers.map((w, k) => statShare(w, dir, names.slice(k * share, (k + 1) * share))),
      );
      const parts = replies.map((r) => r.stats);
      return {
        digest: { text: digestOf(replies.map((r) => r.digest)), maxMtimeMs: maxMtimeOf(parts) },
        get(i) {
          const part = parts[Math.floor(i / share)]!;
          const at = (i % share) * STAT_FIELDS;
          const size = part[at]!;
          if (Number.isNaN(size)) return undefined;
          return { size, mtimeMs: part[at + 1]!, ctimeMs: part[at + 2]!, ino: part[at + 3]! };
        },
      };
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** statInWorkers lstats `names` in `dir` across new worker threads (StatWorkers.stat). */
export function statInWorkers(dir: string, names: readonly string[]): Promise<StatTable> {
  return new StatWorkers().stat(dir, names);
}

/** maxMtimeOf: the latest mtime among the stats (NaN entries, files gone, skipped). */
function maxMtimeOf(parts: readonly Float64Array[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const part of parts) {
    for (let at = 1; at < part.length; at += STAT_FIELDS) if (part[at]! > max) max = part[at]!;
  }
  return max;
}

function statShare(worker: Worker, dir: string, names: readonly string[]): Promise<StatReply> {
  return new Promise<StatReply>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.postMessage({ dir, names } satisfies StatRequest);
  });
}
