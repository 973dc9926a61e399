import type { Status } from "../../state/status.js";
import type { ContainerSummary } from "../../store/container.js";
import { csvRecord, goRfc3339Nano, type Io, type ListFormat, ociStateJson, runscListTable } from "../output.js";
import { runscFlavor } from "../runsc-flavor.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface ListOptions extends GlobalOptions {
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
  /** Only containers with this status, as printed (after the liveness check). */
  readonly status?: Status | undefined;
  readonly format: ListFormat;
  /** Bring contents in line with the files first (default true); false trusts the index's contents. */
  readonly fresh?: boolean | undefined;
  /** Add the strict check's answer (strictStatus, liveness) to each row. */
  readonly strictLiveness?: boolean | undefined;
}

/**
 * list prints what `runsc list` prints for the same files and liveness:
 * the tabwriter table, `--format json` (one line of OCI states, `null` when
 * there are none), `--format csv` (the table's columns as CSV), or (`-q`)
 * the container IDs of the state file names,
 * without reading any file, as runsc does. Files that cannot be read are
 * skipped, as runsc list skips them. Throws ERR_INVALID_ID (bad sandbox).
 */
export async function list(options: ListOptions, io: Io): Promise<void> {
  if (options.format === "ids" && options.status === undefined && !options.strictLiveness) {
    const ids = await withStore(options, { inotify: false, io }, (store) => store.listIdsFromNames(options.sandbox));
    for (const chunk of inChunks(ids, (id) => `${id}\n`)) io.out(chunk);
    return;
  }
  const { summaries, ociVersion } = await withStore(options, { inotify: false, io, progressOn: io }, async (store) => ({
    summaries: await store.list({
      sandbox: options.sandbox,
      status: options.status,
      fresh: options.fresh ?? true,
      strictLiveness: options.strictLiveness === true,
    }),
    ociVersion: options.format === "json" ? runscFlavor(options.runscFormat, store.root).ociVersion : "",
  }));
  for (const chunk of render(inFileNameOrder(summaries), options.format, ociVersion, options.strictLiveness === true)) {
    io.out(chunk);
  }
}

/** render yields the output in chunks: 100k containers make ~90 MB of JSON, never held as one string. */
function* render(
  rows: readonly ContainerSummary[],
  format: ListFormat,
  ociVersion: string,
  strict: boolean,
): Generator<string> {
  switch (format) {
    case "ids":
      yield* inChunks(rows, (r) =>
        strict ? `${r.containerId}\t${r.strictStatus}\t${r.liveness}\n` : `${r.containerId}\n`,
      );
      return;
    case "json":
      // json.NewEncoder(os.Stdout).Encode(states): a nil slice is null.
      if (rows.length === 0) {
        yield "null\n";
        return;
      }
      yield "[";
      yield* inChunks(rows, (r, i) => {
        const json = ociStateJson(ociState(r), r.annotationsJson, ociVersion);
        return (i > 0 ? "," : "") + (strict ? withStrictFields(json, r) : json);
      });
      yield "]\n";
      return;
    case "csv":
      yield csvRecord(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
      yield* inChunks(rows, (r) =>
        csvRecord([r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner]),
      );
      return;
    case "table":
      yield runscListTable(
        rows.map((r) => ({ ...ociState(r), createdAt: r.createdAt, owner: r.owner })),
        strict ? rows.map((r) => [r.strictStatus ?? "", r.liveness ?? ""]) : undefined,
      );
  }
}

/** withStrictFields appends the strict check's answer to one OCI state object (only with --strict-liveness). */
export function withStrictFields(
  json: string,
  c: { strictStatus?: string | undefined; liveness?: string | undefined },
): string {
  return `${json.slice(0, -1)},"strictStatus":${JSON.stringify(c.strictStatus ?? "")},"liveness":${JSON.stringify(c.liveness ?? "")}}`;
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
