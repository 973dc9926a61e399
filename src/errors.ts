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

/** One container an ambiguous prefix could mean. */
export interface Candidate {
  readonly containerId: string;
  readonly sandboxId: string;
}

/** How many candidates an ambiguity message spells out before "and N more". */
const CANDIDATES_SHOWN = 10;

export class AmbiguousIdError extends RunscIndexError {
  readonly candidates: readonly Candidate[];

  constructor(prefix: string, candidates: readonly Candidate[]) {
    const shown = candidates.slice(0, CANDIDATES_SHOWN).map((c) => `${c.containerId} (sandbox ${c.sandboxId})`);
    const more = candidates.length - shown.length;
    const list = more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
    super(
      "ERR_AMBIGUOUS_ID",
      `id "${prefix}" is ambiguous and could refer to ${candidates.length} containers: ${list}`,
    );
    this.name = "AmbiguousIdError";
    this.candidates = candidates;
  }
}

export class CorruptStateError extends RunscIndexError {
  readonly file: string;
  readonly reason: string;

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super("ERR_CORRUPT_STATE", `reading state file "${file}": ${reason}`, options);
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

export function notFound(id: string): RunscIndexError {
  return new RunscIndexError("ERR_NOT_FOUND", `container "${id}" does not exist`);
}

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export function isErrnoException(e: unknown, code?: string): e is NodeJS.ErrnoException {
  return e instanceof Error && "code" in e && (code === undefined || (e as NodeJS.ErrnoException).code === code);
}
