import type { Status } from "../../state/status.js";
import type { ContainerSummary } from "../../store/container.js";
import { type Io, type ListFormat, ociStateJson, runscListTable } from "../output.js";
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
 * there are none), or one container ID per line. Rows stream from SQLite to
 * stdout in chunks (100,000 containers make ~90 MB of JSON); only the table,
 * whose column widths depend on every row, holds its few columns for all.
 * Files that cannot be read are skipped, as runsc list skips them. Throws
 * ERR_INVALID_ID (bad sandbox).
 */
export async function list(options: ListOptions, io: Io): Promise<void> {
  const idsOnly = options.format === "ids" && options.status === undefined;
  await withStore(options, { inotify: false }, async (store) => {
    const listing = await store.listing({
      sandbox: options.sandbox,
      status: options.status,
      // IDs alone need neither current contents nor the liveness check.
      fresh: (options.fresh ?? true) && !idsOnly,
      skipCheck: idsOnly,
    });
    for (const chunk of render(inFileNameOrder(listing), options.format)) io.out(chunk);
  });
}

/** render yields the output in chunks, never as one string. */
function* render(rows: Iterable<ContainerSummary>, format: ListFormat): Generator<string> {
  switch (format) {
    case "ids":
      yield* inChunks(rows, (r) => `${r.containerId}\n`);
      return;
    case "json": {
      // json.NewEncoder(os.Stdout).Encode(states): a nil slice is null.
      let any = false;
      for (const chunk of inChunks(
        rows,
        (r, i) => (i > 0 ? "," : "[") + ociStateJson(ociState(r), r.annotationsJson),
      )) {
        any = true;
        yield chunk;
      }
      yield any ? "]\n" : "null\n";
      return;
    }
    case "table":
      yield runscListTable(Array.from(rows, (r) => ({ ...ociState(r), createdAt: r.createdAt, owner: r.owner })));
  }
}

const ROWS_PER_CHUNK = 1_000;

function* inChunks<T>(rows: Iterable<T>, line: (row: T, index: number) => string): Generator<string> {
  let chunk = "";
  let i = 0;
  for (const row of rows) {
    chunk += line(row, i++);
    if (i % ROWS_PER_CHUNK === 0) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk !== "") yield chunk;
}

function ociState(r: ContainerSummary) {
  return { id: r.containerId, status: r.status, pid: r.pid, bundle: r.bundleDir };
}

/**
 * runsc lists in the order of filepath.Glob, that is by file name
 * `<cid>_sandbox:<sid>.state`. The index yields (container ID, sandbox ID)
 * order, which differs only among IDs that extend another ID (by characters
 * that sort before "_"); every ID between the two shares that prefix. So rows
 * are held only while they extend the first of the current run, and each
 * run is sorted by file name as it ends: 64-hex IDs never make a run of two.
 */
function* inFileNameOrder(rows: Iterable<ContainerSummary>): Generator<ContainerSummary> {
  let run: ContainerSummary[] = [];
  for (const r of rows) {
    if (run.length > 0 && !r.containerId.startsWith(run[0]!.containerId)) {
      yield* sortedByFileName(run);
      run = [];
    }
    run.push(r);
  }
  yield* sortedByFileName(run);
}

function sortedByFileName(run: ContainerSummary[]): ContainerSummary[] {
  if (run.length < 2) return run;
  const key = (r: ContainerSummary) => `${r.containerId}_sandbox:${r.sandboxId}.state`;
  return run
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.r);
}
