/** What the reconcile tests observe of a pass beyond its report. */
import type { SqliteIndex } from "../../src/index/sqlite-index.js";
import type { ReconcileReport } from "../../src/reconcile/reconcile.js";

/** countRowReads counts the pass's reads of the index's rows from now on. */
export function countRowReads(index: SqliteIndex): () => number {
  let reads = 0;
  const real = index.indexedFiles.bind(index) as (paged?: true) => unknown;
  Object.assign(index, {
    indexedFiles: (paged?: true) => {
      reads++;
      return real(paged);
    },
  });
  return () => reads;
}

/** countList: a report's scanned, unchanged, added, updated and removed, in that order. */
export const countList = (r: ReconcileReport) => [r.scanned, r.unchanged, r.added, r.updated, r.removed];
