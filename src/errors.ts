/**
 * Every error runsc-index throws is a RunscIndexError with a stable `code`.
 * Subclasses exist only where they carry data a caller can act on.
 */

export const ERROR_CODES = [
  "ERR_INVALID_ID",
  "ERR_NOT_FOUND",
  "ERR_AMBIGUOUS_ID",
  "ERR_ALREADY_EXISTS",
  "ERR_LOCKED",
  "ERR_LOCK_TIMEOUT",
  "ERR_CORRUPT_STATE",
  "ERR_READONLY_QUERY",
  "ERR_INDEX_SCHEMA",
  "ERR_INVALID_ARGUMENT",
  "ERR_IO",
  "ERR_CLOSED",
  "ERR_QUERY_TIMEOUT",
  "ERR_ABORTED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class RunscIndexError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunscIndexError";
    this.code = code;
  }
}

export class CorruptStateError extends RunscIndexError {
  readonly file: string;
  readonly reason: string;

  /** With `writing`, the message says a write was refused (a document runsc could not load). */
  constructor(file: string, reason: string, options?: { cause?: unknown; writing?: boolean }) {
    super(
      "ERR_CORRUPT_STATE",
      `${options?.writing ? "refusing to write" : "reading"} state file "${file}": ${reason}`,
      {
        cause: options?.cause,
      },
    );
    this.name = "CorruptStateError";
    this.file = file;
    this.reason = reason;
  }
}

export class LockTimeoutError extends RunscIndexError {
  readonly path: string;
  readonly timeoutMs: number;

  constructor(path: string, timeoutMs: number) {
    super("ERR_LOCK_TIMEOUT", `acquiring lock on "${path}": timed out after ${timeoutMs} ms`);
    this.name = "LockTimeoutError";
    this.path = path;
    this.timeoutMs = timeoutMs;
  }
}

/** A query's SQL does not parse: `offset` is where in the text SQLite stopped (UTF-16 units, as JavaScript counts). */
export class QuerySyntaxError extends RunscIndexError {
  readonly offset: number;

  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super("ERR_INVALID_ARGUMENT", message, options);
    this.name = "QuerySyntaxError";
    this.offset = offset;
  }
}

export function notFound(id: string): RunscIndexError {
  return new RunscIndexError("ERR_NOT_FOUND", `container "${id}" does not exist`);
}

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export function isErrnoException(e: unknown, code?: string): e is NodeJS.ErrnoException {
  return e instanceof Error && "code" in e && (code === undefined || (e as NodeJS.ErrnoException).code === code);
}
