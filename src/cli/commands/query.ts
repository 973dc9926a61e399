import { RunscIndexError } from "../../errors.js";
import type { QueryParams } from "../../index/readonly-query.js";
import { type Io, type QueryFormat, queryCsv, queryJson, queryTable } from "../output.js";
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
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * query runs one read-only SQL statement on the index and prints its rows.
 * Parameters are bound as text. Throws ERR_READONLY_QUERY (writes, ATTACH,
 * pragmas), ERR_INVALID_ARGUMENT (bad SQL, bad or mixed parameters).
 */
export async function query(options: QueryOptions, io: Io): Promise<void> {
  const params = queryParams(options.param ?? [], options.named ?? []);
  const result = await withStore(options, { inotify: false, progressOn: io }, (store) =>
    store.query(options.sql, params, { fresh: options.fresh ?? true }),
  );
  const { columns, rows } = result;
  switch (options.format) {
    case "json":
      return io.out(queryJson(columns, rows));
    case "csv":
      return io.out(queryCsv(columns, rows));
    case "table":
      return io.out(columns.length === 0 ? "" : queryTable(columns, rows));
  }
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
