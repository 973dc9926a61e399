/**
 * The command line's one error handler: one line `runsc-index: <message>` on
 * stderr (with JSON output also `{"error":{"code","message"}}` on stdout),
 * and the exit status for the error's code. It does not import commander,
 * so the fast path of `find` can use it too.
 */
import { ERROR_CODES } from "../errors.js";
import { type IdPair, idPairKey } from "../ids/id.js";
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { CANDIDATES_LISTED, candidateStatuses } from "./lookup.js";

const LIBRARY_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

import type { Io } from "./output.js";
import { escapeControls } from "./terminal.js";

/** How reportError prints. */
export interface ReportOptions {
  /** Candidates of an ambiguity error are listed with whole IDs, not 12 characters (--no-trunc). */
  readonly noTrunc?: boolean;
}

/** IDs on a terminal are shortened to this, as `docker ps` does. */
const SHORT_ID = 12;

/** commander's errors, recognized without loading commander. */
interface CommanderLikeError extends Error {
  readonly code: string;
  readonly exitCode: number;
}

function isCommanderError(e: unknown): e is CommanderLikeError {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && code.startsWith("commander.");
}

/**
 * reportError prints the error and returns the exit status for its code. On
 * a terminal (and without JSON output) an ambiguity error lists its
 * candidates one per line, and control characters in the message are escaped.
 */
export function reportError(e: unknown, json: boolean, io: Io, options: ReportOptions = {}): number {
  if (isCommanderError(e)) {
    if (e.exitCode === 0) return EXIT_OK; // --help, --version
    if (e.code === "commander.help") return EXIT_USAGE; // no command given: the help went to stderr
  }
  const { code, message, extra } = describeError(e);
  const line = message.replace(/\s*\n\s*/g, " ");
  const candidates = extra && "candidates" in extra ? (extra.candidates as IdPair[]) : undefined;
  if (io.errIsTTY && !json && candidates) io.err(candidateListing(e, line, candidates, options));
  else io.err(`runsc-index: ${io.errIsTTY ? escapeControls(line) : line}\n`);
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

/**
 * candidateListing is an ambiguity error for a terminal: the message up to
 * its list, then one candidate per line with its sandbox and status (IDs
 * shortened unless noTrunc), then how many more there are.
 */
function candidateListing(e: unknown, line: string, candidates: readonly IdPair[], options: ReportOptions): string {
  const statuses = candidateStatuses(e);
  const id = (s: string) => escapeControls(options.noTrunc ? s : s.slice(0, SHORT_ID));
  const rows = candidates.slice(0, CANDIDATES_LISTED).map((c) => {
    const status = statuses?.get(idPairKey(c)) ?? "unknown";
    return [id(c.containerId), id(c.sandboxId), status];
  });
  const widths = [0, 1].map((i) =>
    Math.max(i === 0 ? "CONTAINER ID".length : "SANDBOX ID".length, ...rows.map((r) => r[i]!.length)),
  );
  const format = (r: readonly string[]) => `  ${r[0]!.padEnd(widths[0]!)}   ${r[1]!.padEnd(widths[1]!)}   ${r[2]}\n`;
  const end = line.indexOf(" containers: ");
  const head = escapeControls(end < 0 ? line : line.slice(0, end + " containers:".length));
  const more = candidates.length - rows.length;
  return [
    `runsc-index: ${head}\n`,
    format(["CONTAINER ID", "SANDBOX ID", "STATUS"]),
    ...rows.map(format),
    more > 0 ? `  ... and ${more} more\n` : "",
  ].join("");
}
