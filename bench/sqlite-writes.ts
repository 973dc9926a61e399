/**
 * What a full reconcile's SQLite writes cost alone: the rows of an index
 * that a full reconcile made, written again into a new index by the same
 * calls (insertNew: the row and its `created` event), ~1,024 a transaction
 * as the reconciler writes them, through closing it. A full reconcile's
 * main thread cannot be faster than this.
 *
 *   npm run build && node dist/bench/sqlite-writes.js SOURCE_INDEX NEW_INDEX
 *
 * SOURCE_INDEX: e.g. the index.db of `runsc-index --root R reconcile --full`.
 * NEW_INDEX must not exist. Prints one line: rows, wall ms, user and system CPU ms.
 */
import { existsSync } from "node:fs";
import { openIndex } from "../src/index/open-index.js";
import type { RowValues } from "../src/index/rows.js";
import { openDatabase } from "../src/index/sqlite-driver.js";
import { CONTAINER_COLUMNS } from "../src/index/sqlite-index.js";

const TRANSACTION_ROWS = 1_024;

const [source, target] = process.argv.slice(2);
if (source === undefined || target === undefined || existsSync(target)) {
  process.stderr.write("usage: node dist/bench/sqlite-writes.js SOURCE_INDEX NEW_INDEX (which must not exist)\n");
  process.exit(2);
}
const from = openDatabase(source, { readonly: true, fileMustExist: true });
// RowValues are the columns but the last (pending).
const rows = (
  from.prepare(`SELECT ${CONTAINER_COLUMNS} FROM containers ORDER BY container_id`).raw().all() as unknown[][]
).map((r) => r.slice(0, -1) as unknown as RowValues);
from.close();

const index = openIndex(target);
const cpu = process.cpuUsage();
const start = performance.now();
await index.manyWrites(async () => {
  for (let i = 0; i < rows.length; i += TRANSACTION_ROWS) {
    index.write(() => {
      for (const row of rows.slice(i, i + TRANSACTION_ROWS)) index.insertNew(row);
    });
  }
});
index.db.close();
const used = process.cpuUsage(cpu);
const ms = (n: number) => n.toFixed(0);
console.log(
  `${rows.length} rows: ${ms(performance.now() - start)} ms, user ${ms(used.user / 1000)} ms, system ${ms(used.system / 1000)} ms`,
);
