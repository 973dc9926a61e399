import { checkUrl, describeTarget } from "../../export/pg-connection.js";
import type { ExportReport } from "../../export/pg-exporter.js";
import { type Io, jsonLine } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface ExportCommandOptions extends GlobalOptions {
  /** postgres:// URL; undefined: libpq's environment (PGHOST, PGDATABASE, PGUSER, PGPASSWORD, ...). */
  readonly to?: string | undefined;
  /** The host name of the exported rows (default: os.hostname()). */
  readonly host?: string | undefined;
  /** Delete this host's rows instead of exporting. */
  readonly dropHost?: string | undefined;
  readonly json?: boolean | undefined;
}

/**
 * exportCommand copies this host's index into PostgreSQL once (after an
 * incremental reconcile), or with dropHost deletes a host's rows there.
 * Prints a one-line report (secrets masked). Throws ERR_INVALID_ARGUMENT,
 * ERR_IO, ERR_INDEX_SCHEMA.
 */
export async function exportCommand(options: ExportCommandOptions, io: Io): Promise<void> {
  checkUrl(options.to);
  if (options.dropHost !== undefined) {
    const { dropHost } = await import("../../export/pg-exporter.js");
    const dropped = await dropHost(options.to, options.dropHost);
    const target = describeTarget(options.to);
    io.out(
      options.json
        ? jsonLine({ droppedHost: options.dropHost, rows: dropped, target })
        : `dropped host "${options.dropHost}": ${dropped} containers deleted from ${target}\n`,
    );
    return;
  }
  const report = await withStore(options, { inotify: false, buildsIndex: true }, (store) =>
    store.export({ to: options.to, host: options.host }),
  );
  io.out(options.json ? jsonLine(report) : summary(report));
}

function summary(r: ExportReport): string {
  return (
    `exported host "${r.host}" to ${r.target}: ${r.rows} containers, ${r.upserted} written, ` +
    `${r.deleted} deleted, ${r.unchanged} unchanged in ${(r.durationMs / 1000).toFixed(2)} s\n`
  );
}
