/**
 * Exit codes of the runsc-index command, one per kind of failure a script
 * may want to tell apart. Every error code of the library maps to one.
 */

export const EXIT_OK = 0;
/** Anything else: I/O, a corrupt state file, a refused query, an index from a newer version, a bug. */
export const EXIT_ERROR = 1;
/** The command line was wrong: unknown option, missing argument, invalid ID, bad SQL or parameter. */
export const EXIT_USAGE = 2;
/** No container has that ID or prefix. */
export const EXIT_NOT_FOUND = 3;
/** The prefix names more than one container. */
export const EXIT_AMBIGUOUS = 4;
/** A container's lock is held (ERR_LOCKED) or could not be taken in time (ERR_LOCK_TIMEOUT). */
export const EXIT_LOCKED = 5;

const BY_CODE: Readonly<Record<string, number>> = {
  ERR_INVALID_ID: EXIT_USAGE,
  ERR_INVALID_ARGUMENT: EXIT_USAGE,
  ERR_USAGE: EXIT_USAGE,
  ERR_NOT_FOUND: EXIT_NOT_FOUND,
  ERR_AMBIGUOUS_ID: EXIT_AMBIGUOUS,
  ERR_LOCKED: EXIT_LOCKED,
  ERR_LOCK_TIMEOUT: EXIT_LOCKED,
};

/** exitCodeFor maps an error `code` (ERR_...) to the process exit code; unknown codes are 1. */
export function exitCodeFor(code: string | undefined): number {
  return (code !== undefined && BY_CODE[code]) || EXIT_ERROR;
}
