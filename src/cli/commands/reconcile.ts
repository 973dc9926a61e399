import type { ReconcileReport } from "../../reconcile/reconcile.js";
import { type Io, jsonLine } from "../output.js";
import { ProgressBar } from "../progress.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface ReconcileCommandOptions extends GlobalOptions {
  /** Read every file, not only those whose size, mtime, ctime or inode changed. */
  readonly full?: boolean | undefined;
  /** Store each file's whole JSON in `containers.state` (about 7x slower). */
  readonly withState?: boolean | undefined;
  /** Print the report as one JSON object. */
  readonly json?: boolean | undefined;
}

/** Invalid files named in the human summary before "and N more". */
const INVALID_SHOWN = 20;

/**
 * reconcile brings the index in line with the state files and reports what
 * it did; a progress bar is drawn on stderr when stderr is a terminal.
 * Invalid files are reported, not an error. Throws ERR_INDEX_SCHEMA, ERR_IO.
 */
export async function reconcile(options: ReconcileCommandOptions, io: Io): Promise<void> {
  const bar = io.errIsTTY ? new ProgressBar(io) : undefined;
  let report: ReconcileReport;
  try {
    report = await withStore(options, { inotify: false, buildsIndex: true }, (store) =>
      store.reconcile({
        full: options.full === true,
        withState: options.withState === true,
        onProgress: bar && ((done, total) => bar.update(done, total)),
      }),
    );
  } finally {
    bar?.clear();
  }
  io.out(options.json ? jsonLine(report) : summary(report));
}

function summary(r: ReconcileReport): string {
  const lines = [
    `${r.full ? "full" : "incremental"} reconcile: ${r.scanned} state files scanned, ${r.added} added, ` +
      `${r.updated} updated, ${r.removed} removed, ${r.unchanged} unchanged, ${r.invalid} invalid ` +
      `in ${(r.durationMs / 1000).toFixed(2)} s`,
  ];
  for (const f of r.invalidFiles.slice(0, INVALID_SHOWN)) lines.push(`invalid: ${f.name}: ${f.reason}`);
  if (r.invalidFiles.length > INVALID_SHOWN)
    lines.push(`and ${r.invalidFiles.length - INVALID_SHOWN} more invalid files`);
  return `${lines.join("\n")}\n`;
}
