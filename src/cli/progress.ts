/**
 * The progress bar of a long index build, drawn on stderr when it is a
 * terminal (never when it is piped): `reconcile` and the first build of an
 * index under `list` or `query`.
 */
import type { Store } from "../store/store.js";
import type { Io } from "./output.js";

/** How often the bar is redrawn at most. */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;

/**
 * ProgressBar draws `reconcile [####......] done/total files, N files/s, ETA Ns`
 * on one terminal line and erases it at the end. The rate is over the whole
 * run so far, so the ETA does not jump with every batch.
 */
export class ProgressBar {
  readonly #io: Io;
  readonly #label: string;
  readonly #started = performance.now();
  #lastDraw = Number.NEGATIVE_INFINITY;
  #drawn = false;
  #width = 0;

  /** `label` starts the line: "reconcile", or "indexing" for an index's first build. */
  constructor(io: Io, label = "reconcile") {
    this.#io = io;
    this.#label = label;
  }

  update(done: number, total: number): void {
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS && done < total) return;
    this.#lastDraw = now;
    const line = `${this.#label} ${progressLine(done, total, now - this.#started)}`;
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
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${done}/${total} files`;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  if (rate <= 0) return `${bar}, ETA --`;
  return `${bar}, ${Math.round(rate)} files/s, ETA ${Math.ceil((total - done) / rate)} s`;
}

/** buildIndexWithProgress runs a first reconcile of `store` with an "indexing" bar on stderr (a terminal), erased at the end. */
export async function buildIndexWithProgress(store: Store, io: Io): Promise<void> {
  const bar = new ProgressBar(io, "indexing");
  try {
    await store.reconcile({ onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.clear();
  }
}
