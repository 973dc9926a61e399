import type { Status } from "../../state/status.js";
import type { ContainerSummary } from "../../store/container.js";
import { csvRecord, goRfc3339Nano, type Io, type ListFormat, ociStateJson, runscListTable } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface ListOptions extends GlobalOptions {
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
  /** Only containers with this status, as printed (after the liveness check). */
  readonly status?: Status | undefined;
  readonly format: ListFormat;
  /** Bring contents in line with the files first (default true); false trusts the index's contents. */
  readonly fresh?: boolean | undefined;
}

/**
 * list prints what `runsc list` prints for the same files and liveness:
 * the tabwriter table, `--format json` (one line of OCI states, `null` when
 * there are none), or one container ID per line; `--format csv` is the
 * table's columns as CSV. Files that cannot be read
 * are skipped, as runsc list skips them. Throws ERR_INVALID_ID (bad sandbox).
 */
export async function list(options: ListOptions, io: Io): Promise<void> {
  const idsOnly = options.format === "ids" && options.status === undefined;
  // IDs alone need no file read, so no first build to show.
  const how = idsOnly ? { inotify: false } : { inotify: false, progressOn: io };
  const summaries = await withStore(options, how, (store) =>
    store.list({
      sandbox: options.sandbox,
      status: options.status,
      // IDs alone need neither current contents nor the liveness check.
      fresh: (options.fresh ?? true) && !idsOnly,
      skipCheck: idsOnly,
    }),
  );
  for (const chunk of render(inFileNameOrder(summaries), options.format)) io.out(chunk);
}

/** render yields the output in chunks: 100k containers make ~90 MB of JSON, never held as one string. */
function* render(rows: readonly ContainerSummary[], format: ListFormat): Generator<string> {
  switch (format) {
    case "ids":
      yield* inChunks(rows, (r) => `${r.containerId}\n`);
      return;
    case "json":
      // json.NewEncoder(os.Stdout).Encode(states): a nil slice is null.
      if (rows.length === 0) {
        yield "null\n";
        return;
      }
      yield "[";
      yield* inChunks(rows, (r, i) => (i > 0 ? "," : "") + ociStateJson(ociState(r), r.annotationsJson));
      yield "]\n";
      return;
    case "csv":
      yield csvRecord(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
      yield* inChunks(rows, (r) =>
        csvRecord([r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner]),
      );
      return;
    case "table":
      yield runscListTable(rows.map((r) => ({ ...ociState(r), createdAt: r.createdAt, owner: r.owner })));
  }
}

const ROWS_PER_CHUNK = 1_000;

function* inChunks<T>(rows: readonly T[], line: (row: T, index: number) => string): Generator<string> {
  for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) {
    let chunk = "";
    for (let j = i; j < Math.min(i + ROWS_PER_CHUNK, rows.length); j++) chunk += line(rows[j]!, j);
    yield chunk;
  }
}

function ociState(r: ContainerSummary) {
  return { id: r.containerId, status: r.status, pid: r.pid, bundle: r.bundleDir };
}

/**
 * runsc lists in the order of filepath.Glob, that is by file name
 * `<cid>_sandbox:<sid>.state`; by container ID differs only when one ID is
 * another plus characters that sort before "_sandbox:".
 */
function inFileNameOrder(rows: readonly ContainerSummary[]): ContainerSummary[] {
  const keyed = rows.map((r) => ({ r, key: `${r.containerId}_sandbox:${r.sandboxId}.state` }));
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = keyed[i - 1]!.key <= keyed[i]!.key;
  if (!sorted) keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.r);
}
