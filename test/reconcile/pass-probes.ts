/** What the reconcile tests share: an index to pass to reconcile(), and what they observe of a pass beyond its report. */
import path from "node:path";
import { openIndexDatabase } from "../../src/index/database.js";
import { SqliteIndex } from "../../src/index/sqlite-index.js";
import { INDEX_DIR } from "../../src/index.js";
import type { ReconcileReport } from "../../src/reconcile/reconcile.js";

const opened: { close(): void }[] = [];

/** closeLater keeps `o` to be closed by closeOpened (call it in afterEach). */
export function closeLater<T extends { close(): void }>(o: T): T {
  opened.push(o);
  return o;
}

export function closeOpened(): void {
  for (const o of opened.splice(0)) o.close();
}

/** openIndex: the index of `root`, opened as the store opens it, for calling reconcile() directly. */
export function openIndex(root: string): SqliteIndex {
  return new SqliteIndex(closeLater(openIndexDatabase(path.join(root, INDEX_DIR, "index.db")).db));
}

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
