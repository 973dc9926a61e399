import os from "node:os";
import type { Worker } from "node:worker_threads";
import type { FileInfo } from "../state/file-info.js";
import { type DigestSums, digestOf } from "./files-digest.js";
import { STAT_FIELDS, type StatReply, type StatRequest } from "./stat-messages.js";
import { spawnWorker } from "./worker-pool.js";

/** Stats of many names, by position; undefined where the file is gone. */
export interface StatTable {
  get(i: number): FileInfo | undefined;
  /** The digest of the names with their stats (files-digest.ts), and the latest mtime. */
  readonly digest?: { readonly text: string; readonly maxMtimeMs: number };
}

/** Names per message to a stat worker. */
export const STAT_CHUNK = 16_384;

/** A stat worker holds one chunk's names and stats: a small young generation keeps `list`'s RSS down. */
const STAT_WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 16 };

/**
 * StatWorkers (only where libc has no statx: see reconcile.ts): worker
 * threads for one stat() call, spawned ahead of it so they boot while the
 * caller lists the root. stat() or close() ends them.
 */
export class StatWorkers {
  readonly #workers: Worker[];

  constructor() {
    const count = Math.max(1, Math.min(os.availableParallelism(), 4));
    this.#workers = Array.from({ length: count }, () =>
      spawnWorker("stat-worker", undefined, { resourceLimits: STAT_WORKER_LIMITS }),
    );
  }

  /**
   * stat lstats `names` in `dir` across the workers and resolves when all
   * are done. The caller's thread is free meanwhile. Names go out in chunks
   * of STAT_CHUNK, one at a time per worker: a worker's small heap holds one
   * chunk's names (100,000 at once did not fit).
   */
  async stat(dir: string, names: readonly string[]): Promise<StatTable> {
    const chunks = Math.ceil(names.length / STAT_CHUNK);
    const parts: Float64Array[] = new Array(chunks);
    const sums: DigestSums[] = [];
    let next = 0;
    const drain = async (worker: Worker): Promise<void> => {
      for (let k = next++; k < chunks; k = next++) {
        const reply = await statShare(worker, dir, names.slice(k * STAT_CHUNK, (k + 1) * STAT_CHUNK));
        parts[k] = reply.stats;
        sums.push(reply.digest);
      }
    };
    try {
      await Promise.all(this.#workers.map(drain));
      return {
        digest: { text: digestOf(sums), maxMtimeMs: maxMtimeOf(parts) },
        get(i) {
          const part = parts[Math.floor(i / STAT_CHUNK)]!;
          const at = (i % STAT_CHUNK) * STAT_FIELDS;
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
    const fail = (e: unknown) => reject(e);
    worker.once("error", fail);
    worker.once("message", (reply: StatReply) => {
      worker.off("error", fail);
      resolve(reply);
    });
    worker.postMessage({ dir, names } satisfies StatRequest);
  });
}
