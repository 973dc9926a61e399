/**
 * The command line's one error handler: one line `runsc-index: <message>` on
 * stderr (with JSON output also `{"error":{"code","message"}}` on stdout),
 * and the exit status for the error's code. It does not import commander,
 * so the fast path of `find` can use it too.
 */
import { ERROR_CODES } from "../errors.js";
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";

const LIBRARY_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

import type { Io } from "./output.js";

/** commander's errors, recognized without loading commander. */
interface CommanderLikeError extends Error {
  readonly code: string;
  readonly exitCode: number;
}

function isCommanderError(e: unknown): e is CommanderLikeError {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && code.startsWith("commander.");
}

/** reportError prints the error and returns the exit status for its code. */
export function reportError(e: unknown, json: boolean, io: Io): number {
  if (isCommanderError(e)) {
    if (e.exitCode === 0) return EXIT_OK; // --help, --version
    if (e.code === "commander.help") return EXIT_USAGE; // no command given: the help went to stderr
  }
  const { code, message, extra } = describeError(e);
  const line = message.replace(/\s*\n\s*/g, " ");
  io.err(`runsc-index: ${line}\n`);
  if (json) io.out(`${JSON.stringify({ error: { code, message: line, ...extra } })}\n`);
  return exitCodeFor(code);
}

function describeError(e: unknown): { code: string; message: string; extra?: object } {
  if (isCommanderError(e)) return { code: "ERR_USAGE", message: e.message.replace(/^error: /, "") };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    // Node's own codes (ERR_FS_EISDIR, ...) also start with ERR_: only ours are passed on.
    if (typeof code === "string" && (LIBRARY_CODES.has(code) || code === "ERR_USAGE")) {
      const candidates = (e as { candidates?: unknown }).candidates;
      return { code, message: e.message, ...(Array.isArray(candidates) ? { extra: { candidates } } : {}) };
    }
    // A system call or SQLite failed outside the library's wrapping (EACCES on the root, a full disk, say).
    if (typeof code === "string" && ("syscall" in e || /^(ERR_FS_|SQLITE_)/.test(code))) {
      return { code: "ERR_IO", message: e.message };
    }
    return { code: "ERR_INTERNAL", message: e.message };
  }
  return { code: "ERR_INTERNAL", message: String(e) };
}
