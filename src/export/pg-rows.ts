/**
 * Writing index rows into `runsc_containers`: one statement per batch, the
 * rows sent as one array per column and spread by unnest() (a few
 * parameters instead of 20 per row), upserted on the primary key.
 */
import type pg from "pg";
import { type IdPair, idPairKey } from "../ids/id.js";
import { EXPORT_COLUMNS, type ExportRow, IDENTITY_COLUMNS } from "../index/export-rows.js";

/** PostgreSQL array type of each EXPORT_COLUMNS entry. */
const PG_TYPES: Record<(typeof EXPORT_COLUMNS)[number], string> = {
  container_id: "text",
  sandbox_id: "text",
  status: "text",
  pid: "int8",
  gofer_pid: "int8",
  created_at: "text",
  bundle_dir: "text",
  owner: "text",
  is_root: "bool",
  pod_name: "text",
  pod_namespace: "text",
  start_time: "text",
  annotations: "jsonb",
  file_size: "int8",
  file_mtime_ms: "float8",
  file_ctime_ms: "float8",
  file_ino: "int8",
  pending: "bool",
  indexed_at: "int8",
  state: "text",
};

const COLUMN_LIST = EXPORT_COLUMNS.join(", ");
const UPDATES = EXPORT_COLUMNS.filter((c) => c !== "container_id" && c !== "sandbox_id")
  .map((c) => `${c} = excluded.${c}`)
  .join(", ");

/**
 * One statement per batch, so a batch needs one round trip and no
 * BEGIN/COMMIT: upserts, deletes and the host's heartbeat as data-modifying
 * CTEs, atomic together. A container is in at most one of the two lists.
 */
const WRITE_SQL = `WITH upserted AS (
  INSERT INTO runsc_containers (host, root, ${COLUMN_LIST}, seen_at)
  SELECT $1, $2, u.*, now() FROM unnest(${EXPORT_COLUMNS.map((c, i) => `$${i + 3}::${PG_TYPES[c]}[]`).join(", ")})
    AS u(${COLUMN_LIST})
  ON CONFLICT (host, container_id, sandbox_id) DO UPDATE SET root = excluded.root, ${UPDATES}, seen_at = now()
  RETURNING 1
), deleted AS (
  DELETE FROM runsc_containers WHERE host = $1 AND (container_id, sandbox_id) IN
    (SELECT * FROM unnest($${EXPORT_COLUMNS.length + 3}::text[], $${EXPORT_COLUMNS.length + 4}::text[]))
  RETURNING 1
)
INSERT INTO runsc_hosts (host, root, synced_at, heartbeat_at)
  VALUES ($1, $2, CASE WHEN $${EXPORT_COLUMNS.length + 5}::bool THEN now() END, now())
ON CONFLICT (host) DO UPDATE SET root = excluded.root, heartbeat_at = now(),
  synced_at = coalesce(excluded.synced_at, runsc_hosts.synced_at)`;

/** The host a batch belongs to. */
export interface HostKey {
  readonly host: string;
  readonly root: string;
}

/**
 * writeBatch upserts rows and deletes containers of one host, and records
 * its heartbeat (and, with synced, the end of a full sync), in one statement.
 */
export async function writeBatch(
  client: pg.Client,
  key: HostKey,
  rows: readonly ExportRow[],
  deletes: readonly IdPair[],
  synced = false,
): Promise<void> {
  const columns = EXPORT_COLUMNS.map((name, i) => rows.map((r) => pgValue(name, r[i] ?? null)));
  await client.query(WRITE_SQL, [
    key.host,
    key.root,
    ...columns,
    deletes.map((c) => c.containerId),
    deletes.map((c) => c.sandboxId),
    synced,
  ]);
}

/** IDENTITY_COLUMNS without the IDs: what the diff compares. */
const COMPARED = IDENTITY_COLUMNS.slice(2);

/** identityOfIndexRow: the identity of an exportIdentities row, comparable with the exported one's. */
export function identityOfIndexRow(row: ExportRow): string {
  return identityOfValues(row.slice(2));
}

/** identityOfValues: int8 arrives as text and booleans as booleans; both sides become numbers. */
function identityOfValues(values: readonly unknown[]): string {
  return values.map((v) => (v === null || v === undefined ? "" : String(Number(v)))).join("|");
}

/** hostRowIdentities reads the identity of every exported row of a host, keyed by "cid/sid". */
export async function hostRowIdentities(
  client: pg.Client,
  key: HostKey,
): Promise<Map<string, { identity: string; ids: IdPair }>> {
  const result = await client.query<unknown[]>({
    text: `SELECT container_id, sandbox_id, root = $2, ${COMPARED.join(", ")} FROM runsc_containers WHERE host = $1`,
    values: [key.host, key.root],
    rowMode: "array",
  });
  const out = new Map<string, { identity: string; ids: IdPair }>();
  for (const r of result.rows) {
    const ids = { containerId: r[0], sandboxId: r[1] } as IdPair; // rows we exported: IDs validated before
    // A row exported from another root counts as different: it is rewritten with ours.
    const identity = r[2] === true ? identityOfValues(r.slice(3)) : "";
    out.set(idPairKey(ids), { identity, ids });
  }
  return out;
}

/**
 * PostgreSQL text cannot hold NUL, and jsonb refuses \u0000: both become
 * U+FFFD, the only way such a value fits. Flags become booleans.
 */
function pgValue(column: string, v: string | number | null): string | number | boolean | null {
  if (v === null) return null;
  if (column === "is_root" || column === "pending") return v !== 0;
  if (typeof v !== "string") return v;
  if (column === "annotations") return v.includes("\\u0000") ? v.replaceAll("\\u0000", "\\ufffd") : v;
  return v.includes("\0") ? v.replaceAll("\0", "\ufffd") : v;
}
