import fs from "node:fs";
import { parseStateFileName } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
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

export function listRoot(root: string): string[] {
  try {
    return fs.readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // no root yet: no containers
    throw e;
  }
}

/** listRootAsync is listRoot on libuv's thread pool, so the caller's thread can work meanwhile. */
export async function listRootAsync(root: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

export function compareIdPairs(a: IdPair, b: IdPair): number {
  return cmp(a.containerId, b.containerId) || cmp(a.sandboxId, b.sandboxId);
}

/** Bytewise order, as SQLite's BINARY collation and Go's sort.Strings (IDs are ASCII). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
