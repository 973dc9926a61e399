import type { ReconcileReport } from "../../reconcile/reconcile.js";
import { type Io, jsonLine } from "../output.js";
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
    report = await withStore(options, { inotify: false }, (store) =>
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

/** How often the bar is redrawn at most. */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;

/**
 * ProgressBar draws `reconcile [####......] done/total files, N files/s, ETA Ns`
 * on one terminal line and erases it at the end. The rate is over the whole
 * run so far, so the ETA does not jump with every batch.
 */
class ProgressBar {
  readonly #io: Io;
  readonly #started = performance.now();
  #lastDraw = Number.NEGATIVE_INFINITY;
  #drawn = false;
  #width = 0;

  constructor(io: Io) {
    this.#io = io;
  }

  update(done: number, total: number): void {
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS && done < total) return;
    this.#lastDraw = now;
    const line = progressLine(done, total, now - this.#started);
    // Spaces cover the end of a longer previous line (the ETA shrinks).
    this.#io.err(`\r${line.padEnd(this.#width)}`);
    this.#width = line.length;
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) this.#io.err("\r\x1b[K");
  }
}

/** progressLine is the bar's text after `elapsedMs`: the rate and ETA once anything is done. */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH)) : 0;
  const bar = `reconcile [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${done}/${total} files`;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  if (rate <= 0) return `${bar}, ETA --`;
  return `${bar}, ${Math.round(rate)} files/s, ETA ${Math.ceil((total - done) / rate)} s`;
}
