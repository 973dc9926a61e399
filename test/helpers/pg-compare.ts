/**
 * Comparing a host's rows in PostgreSQL with its SQLite index, column by
 * column, read with plain SQL on both sides (not with the exporter's code).
 */
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";

/** One container as both databases can express it: numbers, 0/1 flags, annotations parsed. */
export type Comparable = Record<string, unknown>;

const COLUMNS = `container_id, sandbox_id, status, pid, gofer_pid, created_at, bundle_dir, owner, is_root, pod_name,
  pod_namespace, start_time, annotations, file_size, file_mtime_ms, file_ctime_ms, file_ino, pending, indexed_at, state`;

function normalize(row: Record<string, unknown>): Comparable {
  const out: Comparable = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === null) out[k] = null;
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else if (k === "annotations") out[k] = typeof v === "string" ? JSON.parse(v) : v;
    else if (["pid", "gofer_pid", "file_size", "file_ino", "indexed_at"].includes(k)) out[k] = Number(v);
    else out[k] = v;
  }
  return out;
}

const byKey = (a: Comparable, b: Comparable) =>
  `${a.container_id}/${a.sandbox_id}` < `${b.container_id}/${b.sandbox_id}` ? -1 : 1;

/** indexRows reads every container of a root's index (read-only). */
export function indexRows(root: string): Comparable[] {
  const db = new Database(path.join(root, ".runsc-index", "index.db"), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT ${COLUMNS} FROM containers`).all() as Record<string, unknown>[])
      .map(normalize)
      .sort(byKey);
  } finally {
    db.close();
  }
}

/** pgQuery runs one statement on a fresh connection. */
export async function pgQuery<T extends Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** exportedRows reads a host's rows from runsc_containers. */
export async function exportedRows(url: string, host: string): Promise<Comparable[]> {
  const rows = await pgQuery(url, `SELECT ${COLUMNS} FROM runsc_containers WHERE host = $1`, [host]);
  return rows.map(normalize).sort(byKey);
}

/** waitForEqual polls until the host's exported rows equal the index (or throws with the last difference). */
export async function waitForEqual(
  url: string,
  host: string,
  root: string,
  until: (indexed: Comparable[]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [want, got] = [indexRows(root), await exportedRows(url, host).catch(() => undefined)];
    // Deep equality: jsonb keeps its own key order, not Go's. `until` waits for the index to hold the change first.
    if (got !== undefined && until(want) && isDeepStrictEqual(want, got)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `host ${host}: PostgreSQL has ${got?.length} rows, the index ${want.length}; first of each: ${JSON.stringify(got?.[0])} / ${JSON.stringify(want[0])}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
