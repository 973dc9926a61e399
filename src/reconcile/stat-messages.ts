/**
 * What the stat pool (stat-pool.ts) and its workers (stat-worker.ts) send
 * each other. Its own module: the pool's importers must not load the
 * worker's module, which takes node:worker_threads (~7 ms of a one-shot
 * `list`, whose pass stats in place and starts no worker).
 */
import type { DigestSums } from "./files-digest.js";

export interface StatRequest {
  readonly dir: string;
  readonly names: readonly string[];
}

export interface StatReply {
  readonly stats: Float64Array;
  readonly digest: DigestSums;
}

/** Numbers per name in the result: size, mtimeMs, ctimeMs, ino (NaN when the file is gone). */
export const STAT_FIELDS = 4;
