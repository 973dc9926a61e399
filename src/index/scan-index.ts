import fs from "node:fs";
import { RunscIndexError } from "../errors.js";
import { parseStateFileName } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import { ioError } from "../native/safe-fs.js";
import type { NameIndex } from "./name-index.js";

/**
 * ScanIndex answers as runsc does: list the root directory on every call and
 * parse the state file names. O(n) per lookup; the reference implementation
 * for tests and the baseline in bench/, and a fallback when the index
 * database cannot be written.
 */
export class ScanIndex implements NameIndex {
  constructor(readonly root: string) {}

  withPrefix(prefix: string, sandboxId: string | undefined, limit: number): IdPair[] {
    return this.#matching((c) => c.containerId.startsWith(prefix), sandboxId).slice(0, limit);
  }

  exact(containerId: string, sandboxId: string | undefined): IdPair[] {
    return this.#matching((c) => c.containerId === containerId, sandboxId);
  }

  /** all lists every well-named state file, sorted. */
  all(): IdPair[] {
    return this.#matching(() => true, undefined);
  }

  #matching(keep: (c: IdPair) => boolean, sandboxId: string | undefined): IdPair[] {
    const out: IdPair[] = [];
    for (const name of listRoot(this.root)) {
      const ids = parseStateFileName(name);
      if (ids && keep(ids) && (sandboxId === undefined || ids.sandboxId === sandboxId)) out.push(ids);
    }
    return out.sort(compareIdPairs);
  }
}

/** listRoot: the names in the root; none when it does not exist. Throws ERR_IO naming the root. */
export function listRoot(root: string): string[] {
  try {
    return fs.readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // no root yet: no containers
    throw rootUnreadable(root, e);
  }
}

/** listRootAsync is listRoot on libuv's thread pool, so the caller's thread can work meanwhile. */
export async function listRootAsync(root: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw rootUnreadable(root, e);
  }
}

/** rootUnreadable says what is missing: reading the root needs read permission on it, as runsc list does. */
function rootUnreadable(root: string, e: unknown): RunscIndexError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") {
    return new RunscIndexError(
      "ERR_IO",
      `listing root "${root}": permission denied: reading it needs read permission on the directory and its state files (run as their owner, as runsc does)`,
      { cause: e },
    );
  }
  return ioError("listing root", root, e);
}

export function compareIdPairs(a: IdPair, b: IdPair): number {
  return cmp(a.containerId, b.containerId) || cmp(a.sandboxId, b.sandboxId);
}

/** Bytewise order, as SQLite's BINARY collation and Go's sort.Strings (IDs are ASCII). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
