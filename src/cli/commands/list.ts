import v8 from "node:v8";
import type { Status } from "../../state/status.js";
import type { ContainerSummary } from "../../store/container.js";
import { csvRecord, goRfc3339Nano, type Io, LIST_HEADER, type ListFormat, ListTable, ociStateJson } from "../output.js";
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
 * the container IDs of the state file names, without reading any file, as
 * runsc does. Rows stream from SQLite to stdout in chunks (100,000
 * containers make ~90 MB of JSON); only the table, whose column widths depend
 * on every row, holds each row's line of text until the end. Files that cannot be read are
 * skipped, as runsc list skips them. Throws ERR_INVALID_ID (bad sandbox).
 */
export async function list(options: ListOptions, io: Io): Promise<void> {
  if (options.format === "ids" && options.status === undefined && !options.strictLiveness) {
    const ids = await withStore(options, { inotify: false, io }, (store) => store.listIdsFromNames(options.sandbox));
    for (const chunk of inChunks(ids, (id) => `${id}\n`)) io.out(chunk);
    return;
  }
  const strict = options.strictLiveness === true;
  keepYoungGenerationSmall();
  await withStore(options, { inotify: false, io, progressOn: io }, async (store) => {
    const ociVersion = options.format === "json" ? runscFlavor(options.runscFormat, store.root).ociVersion : "";
    const listing = await store.listing({
      sandbox: options.sandbox,
      status: options.status,
      fresh: options.fresh ?? true,
      strictLiveness: strict,
      skipAnnotations: options.format !== "json",
    });
    for (const chunk of render(inFileNameOrder(listing), options.format, ociVersion, strict)) io.out(chunk);
  });
}

/**
 * keepYoungGenerationSmall stops V8 from growing its young generation for
 * the rest of this process. A listing makes garbage at a steady rate, and
 * V8 grows the young generation to 3 x 16 MB under it: ~35 MB of a
 * 100,000-row listing's peak RSS, for no gain in time (measured).
 * The flag is read each time V8 would grow it, so it can be set now.
 */
function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString("--semi-space-growth-factor=1");
}

/** render yields the output in chunks, never as one string. */
function* render(
  rows: Iterable<ContainerSummary>,
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
    case "json": {
      // json.NewEncoder(os.Stdout).Encode(states): a nil slice is null.
      let any = false;
      for (const chunk of inChunks(rows, (r, i) => {
        const json = ociStateJson(ociState(r), r.annotationsJson, ociVersion);
        return (i > 0 ? "," : "[") + (strict ? withStrictFields(json, r) : json);
      })) {
        any = true;
        yield chunk;
      }
      yield any ? "]\n" : "null\n";
      return;
    }
    case "csv":
      yield csvRecord(LIST_HEADER);
      yield* inChunks(rows, (r) =>
        csvRecord([r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner]),
      );
      return;
    case "table": {
      const table = new ListTable(strict ? [...LIST_HEADER, "STRICT STATUS", "LIVENESS"] : LIST_HEADER);
      for (const r of rows) {
        const cells = [r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner];
        table.add(strict ? [...cells, r.strictStatus ?? "", r.liveness ?? ""] : cells);
      }
      yield* table.chunks();
    }
  }
}

/** withStrictFields appends the strict check's answer to one OCI state object (only with --strict-liveness). */
export function withStrictFields(
  json: string,
  c: { strictStatus?: string | undefined; liveness?: string | undefined },
): string {
  return `${json.slice(0, -1)},"strictStatus":${JSON.stringify(c.strictStatus ?? "")},"liveness":${JSON.stringify(c.liveness ?? "")}}`;
}

/**
 * Characters per chunk written: small enough that a chunk being built is
 * not promoted to V8's old space by the scavenges it lives through (a chunk
 * of 1,000 JSON rows, ~900 KB, was: garbage that piled up to the end).
 */
const CHUNK_CHARS = 64 * 1024;

function* inChunks<T>(rows: Iterable<T>, line: (row: T, index: number) => string): Generator<string> {
  let chunk = "";
  let i = 0;
  for (const row of rows) {
    chunk += line(row, i++);
    if (chunk.length >= CHUNK_CHARS) {
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
