import type { DoctorReport } from "../../store/doctor.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { type Io, jsonLine } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface DoctorCommandOptions extends GlobalOptions {
  /** Print the report as one JSON object. */
  readonly json?: boolean | undefined;
}

/**
 * doctor checks the index (SQLite integrity, drift from the directory before
 * and after a sync, invalid files, the watcher) and prints the report.
 * Returns the exit status: 1 when anything needs a human (`ok` false), with
 * one line on stderr saying how many problems. Throws ERR_INDEX_SCHEMA, ERR_IO.
 */
export async function doctor(options: DoctorCommandOptions, io: Io): Promise<number> {
  const report = await withStore(options, { inotify: false, io }, (store) => store.doctor());
  io.out(options.json ? jsonLine(report) : summary(report));
  if (report.ok) return EXIT_OK;
  const n = report.problems.length;
  io.err(`runsc-index: doctor found ${n} problem${n === 1 ? "" : "s"}\n`);
  return EXIT_ERROR;
}

function summary(r: DoctorReport): string {
  const c = r.counts;
  const lines = [
    `root:      ${r.root}`,
    `index:     ${r.index}`,
    `integrity: ${r.integrity}`,
    `counts:    ${c.containers} containers in ${c.sandboxes} sandboxes, ${c.pending} pending, ${c.invalid} invalid files`,
    `drift:     before sync ${r.driftBefore.missing} missing, ${r.driftBefore.extra} extra; ` +
      `after ${r.driftAfter.missing} missing, ${r.driftAfter.extra} extra`,
    `watcher:   ${watcherText(r.watcher)}`,
  ];
  for (const p of r.problems) lines.push(`problem:   ${p}`);
  lines.push(r.ok ? "ok" : "not ok");
  return `${lines.join("\n")}\n`;
}

function watcherText(w: DoctorReport["watcher"]): string {
  if (w === null) return "none";
  if (!w.alive) return `pid ${w.pid} (gone)`;
  const age = w.drainedAtMs > 0 ? `, drained ${Math.max(0, Date.now() - w.drainedAtMs)} ms ago` : "";
  return `pid ${w.pid} (alive${age})`;
}
