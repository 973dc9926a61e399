import type { PruneReport } from "../../store/prune.js";
import { type Io, jsonLine } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface PruneCommandOptions extends GlobalOptions {
  /** List what would be removed; remove nothing. */
  readonly dryRun?: boolean | undefined;
  /** Print the report as one JSON object. */
  readonly json?: boolean | undefined;
}

const KIND_TEXT = { "orphan-lock": "orphan lock file", "temp-file": "stale temporary file" } as const;

/**
 * prune removes lock files without a state file and our stale temporary
 * files, each only while holding its container's lock; a `.state` file is
 * never touched. Files whose lock is held are skipped and listed.
 * Throws ERR_IO.
 */
export async function prune(options: PruneCommandOptions, io: Io): Promise<void> {
  const report = await withStore(options, { inotify: false, buildsIndex: true }, (store) =>
    store.prune({ dryRun: options.dryRun === true }),
  );
  io.out(options.json ? jsonLine(report) : summary(report));
}

function summary(r: PruneReport): string {
  const verb = r.dryRun ? "would remove" : "removed";
  const lines = r.removed.map((f) => `${verb} ${f.name} (${KIND_TEXT[f.kind]})`);
  for (const s of r.skipped) lines.push(`skipped ${s.name}: ${s.reason}`);
  if (lines.length === 0) lines.push("nothing to prune");
  return `${lines.join("\n")}\n`;
}
