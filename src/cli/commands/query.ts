import { RunscIndexError } from "../../errors.js";
import type { QueryRows } from "../../index/query-runner.js";
import type { QueryParams } from "../../index/readonly-query.js";
import { type Io, type QueryFormat, queryWriter } from "../output.js";
import { reportError } from "../report.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface QueryOptions extends GlobalOptions {
  readonly sql: string;
  readonly format: QueryFormat;
  /** Values for `?` placeholders, in order (`--param`, repeatable). */
  readonly param?: readonly string[] | undefined;
  /** `key=value` pairs for `@key` / `:key` / `$key` placeholders (`--named`, repeatable). */
  readonly named?: readonly string[] | undefined;
  /** Bring contents in line with the files first (default true). */
  readonly fresh?: boolean | undefined;
  /** Time limit in ms (`--timeout`); default the library's 30 000. */
  readonly timeout?: number | undefined;
  /** Print at most this many rows (`--limit`). */
  readonly limit?: number | undefined;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Output is written in pieces of about this many UTF-16 units, each after stdout took the last. */
const CHUNK_CHARS = 64 * 1024;

/**
 * query runs one read-only SQL statement on the index and prints its rows as
 * they come. Parameters are bound as text. Throws ERR_READONLY_QUERY (writes,
 * ATTACH, pragmas), ERR_INVALID_ARGUMENT (bad SQL, bad or mixed parameters),
 * ERR_QUERY_TIMEOUT.
 */
export async function query(options: QueryOptions, io: Io): Promise<void> {
  const params = queryParams(options.param ?? [], options.named ?? []);
  try {
    await withStore(options, { inotify: false, io, progressOn: io }, async (store) => {
      const rows = await store.queryRows(options.sql, params, {
        fresh: options.fresh ?? true,
        timeoutMs: options.timeout,
        maxRows: options.limit,
        // A thread starts ~100 ms sooner than a process; one stuck in SQLite is ended below by _exit.
        isolation: "thread",
      });
      await printRows(rows, options.format, io);
    });
  } catch (e) {
    // The query's thread may be stuck inside one SQLite step, and Node's exit would wait for it forever.
    if (e instanceof RunscIndexError && e.code === "ERR_QUERY_TIMEOUT" && io.hardExit !== undefined) {
      await io.hardExit(reportError(e, options.format === "json", io));
    }
    throw e;
  }
}

/** printRows writes rows as they arrive, waiting for stdout to take each chunk (memory stays bounded). */
async function printRows(rows: QueryRows, format: QueryFormat, io: Io): Promise<void> {
  const writer = queryWriter(format, rows.columns);
  let chunk = "";
  for await (const row of rows) {
    chunk += writer.rows([row]);
    if (chunk.length >= CHUNK_CHARS) {
      io.out(chunk);
      chunk = "";
      await io.drained?.();
    }
  }
  io.out(chunk + writer.end());
}
/** queryParams builds the bound values: positional or named, never both (SQLite would bind them by position). */
export function queryParams(positional: readonly string[], named: readonly string[]): QueryParams {
  if (positional.length > 0 && named.length > 0) {
    throw invalid("use either --param (for ?) or --named (for @name), not both");
  }
  if (named.length === 0) return positional;
  const out: Record<string, string> = {};
  for (const pair of named) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0) throw invalid(`--named ${JSON.stringify(pair)}: expected key=value`);
    if (!PARAM_NAME.test(key)) throw invalid(`--named ${JSON.stringify(pair)}: a name is [A-Za-z_][A-Za-z0-9_]*`);
    if (Object.hasOwn(out, key)) throw invalid(`--named: "${key}" given twice`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

function invalid(message: string): RunscIndexError {
  return new RunscIndexError("ERR_INVALID_ARGUMENT", `query: ${message}`);
}
