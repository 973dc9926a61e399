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
    const chunks = new Chunks((text) => io.out(text));
    for (const id of ids) chunks.add(`${id}\n`);
    chunks.flush();
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
    render(listing, options.format, ociVersion, strict, (text) => io.out(text));
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

/**
 * render writes the output to `out` in chunks, never as one string. Rows are
 * pushed through plain functions, not a chain of generators: V8 leaves a
 * generator's loop unoptimized (~1 µs a row for each one in the chain).
 */
function render(
  rows: Iterable<ContainerSummary>,
  format: ListFormat,
  ociVersion: string,
  strict: boolean,
  out: (text: string) => void,
): void {
  const chunks = new Chunks(out);
  switch (format) {
    case "ids":
      inFileNameOrder(rows, (r) =>
        chunks.add(strict ? `${r.containerId}\t${r.strictStatus}\t${r.liveness}\n` : `${r.containerId}\n`),
      );
      break;
    case "json": {
      // json.NewEncoder(os.Stdout).Encode(states): a nil slice is null.
      let any = false;
      inFileNameOrder(rows, (r) => {
        const json = ociStateJson(ociState(r), r.annotationsJson, ociVersion);
        chunks.add((any ? "," : "[") + (strict ? withStrictFields(json, r) : json));
        any = true;
      });
      chunks.add(any ? "]\n" : "null\n");
      break;
    }
    case "csv":
      chunks.add(csvRecord(LIST_HEADER));
      inFileNameOrder(rows, (r) =>
        chunks.add(
          csvRecord([r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner]),
        ),
      );
      break;
    case "table": {
      const table = new ListTable(strict ? [...LIST_HEADER, "STRICT STATUS", "LIVENESS"] : LIST_HEADER);
      inFileNameOrder(rows, (r) => {
        const cells = [r.containerId, String(r.pid), r.status, r.bundleDir, goRfc3339Nano(r.createdAt), r.owner];
        table.add(strict ? [...cells, r.strictStatus ?? "", r.liveness ?? ""] : cells);
      });
      for (const chunk of table.chunks()) chunks.add(chunk);
    }
  }
  chunks.flush();
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

/** Chunks gathers text and hands it to `out` about CHUNK_CHARS at a time. */
class Chunks {
  #chunk = "";

  constructor(readonly out: (text: string) => void) {}

  add(text: string): void {
    this.#chunk += text;
    if (this.#chunk.length >= CHUNK_CHARS) this.flush();
  }

  flush(): void {
    if (this.#chunk !== "") this.out(this.#chunk);
    this.#chunk = "";
  }
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
 * Each row goes to `visit` in that order.
 */
function inFileNameOrder(rows: Iterable<ContainerSummary>, visit: (r: ContainerSummary) => void): void {
  let run: ContainerSummary[] = [];
  for (const r of rows) {
    if (run.length > 0 && !r.containerId.startsWith(run[0]!.containerId)) {
      for (const held of sortedByFileName(run)) visit(held);
      run = [];
    }
    run.push(r);
  }
  for (const held of sortedByFileName(run)) visit(held);
}

function sortedByFileName(run: ContainerSummary[]): ContainerSummary[] {
  if (run.length < 2) return run;
  const key = (r: ContainerSummary) => `${r.containerId}_sandbox:${r.sandboxId}.state`;
  return run
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.r);
}
