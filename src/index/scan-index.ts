import fs from "node:fs";
import { RunscIndexError } from "../errors.js";
import { NAME_SEPARATOR, parseStateFileName, STATE_SUFFIX } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import { inByteOrder, namesEndingWith, namesStartingWith } from "../native/dir-names.js";
import { type DirStats, type EntryVisitor, listWithStats, visitWithStats } from "../native/dir-stats.js";
import { ioError } from "../native/safe-fs.js";
import type { NameIndex } from "./name-index.js";

/**
 * ScanIndex answers as runsc does: from a listing of the root directory and
 * the state file names in it. The root is listed at the first question;
 * later questions that narrow it (a resolve's exact ID after its prefix)
 * are answered from that listing, so a resolve sees one moment in time.
 * The reference in tests, and what a one-shot lookup answers from when the
 * index's names cannot be trusted without a rescan (see freshness/names.ts).
 */
export class ScanIndex implements NameIndex {
  /** The first question's names and the start they share: a resolve's later questions narrow them. */
  #listed: { readonly start: string; readonly names: readonly string[] } | undefined;

  constructor(readonly root: string) {}

  withPrefix(prefix: string, sandboxId: string | undefined, limit: number): IdPair[] {
    return this.#matching(prefix, (c) => c.containerId.startsWith(prefix), sandboxId).slice(0, limit);
  }

  exact(containerId: string, sandboxId: string | undefined): IdPair[] {
    return this.#matching(containerId + NAME_SEPARATOR, (c) => c.containerId === containerId, sandboxId);
  }

  /** all lists every well-named state file, sorted. */
  all(): IdPair[] {
    return this.#matching("", () => true, undefined);
  }

  /** A name starts with its container ID: only names starting with `start` are parsed (a 100,000-name root). */
  #matching(start: string, keep: (c: IdPair) => boolean, sandboxId: string | undefined): IdPair[] {
    const out: IdPair[] = [];
    for (const name of this.#namesStartingWith(start)) {
      const ids = parseStateFileName(name);
      if (ids && keep(ids) && (sandboxId === undefined || ids.sandboxId === sandboxId)) out.push(ids);
    }
    return out.sort(compareIdPairs);
  }

  #namesStartingWith(start: string): readonly string[] {
    const listed = this.#listed;
    if (listed !== undefined && start.startsWith(listed.start)) return listed.names.filter((n) => n.startsWith(start));
    const names = listRoot(this.root, start);
    this.#listed ??= { start, names };
    return names;
  }
}

/**
 * listRoot: the names in the root, or (with `start`) only those that start
 * with it, read without decoding the others (dir-names.ts); none when the
 * root does not exist. Throws ERR_IO naming the root.
 */
export function listRoot(root: string, start = ""): string[] {
  try {
    return start === "" ? fs.readdirSync(root) : namesStartingWith(root, start);
  } catch (e) {
    return noRootYet(root, e);
  }
}

/**
 * listStateFiles: the names of the root's state files, in readdir's order,
 * read without a string for the lock files (dir-names.ts); none when the
 * root does not exist. Throws ERR_IO naming the root.
 */
export function listStateFiles(root: string): string[] {
  try {
    return inByteOrder(namesEndingWith(root, STATE_SUFFIX));
  } catch (e) {
    return noRootYet(root, e);
  }
}

/**
 * listStateFilesWithStats: the names ending in `.state` in the root with
 * their lstats, without a string per name (dir-stats.ts); none when the root
 * does not exist. Throws ERR_IO naming the root.
 */
export function listStateFilesWithStats(root: string, expected = 0): DirStats {
  try {
    return listWithStats(root, STATE_SUFFIX, expected);
  } catch (e) {
    noRootYet(root, e);
    return NO_FILES;
  }
}

/** visitStateFilesWithStats is listStateFilesWithStats handing each file to `visit`, keeping none. */
export function visitStateFilesWithStats(root: string, visit: EntryVisitor): void {
  try {
    visitWithStats(root, STATE_SUFFIX, visit);
  } catch (e) {
    noRootYet(root, e);
  }
}

const NO_FILES: DirStats = {
  count: 0,
  nameBytes: Buffer.alloc(0),
  nameStart: new Int32Array(1),
  stats: new Float64Array(0),
};

/** noRootYet: a root that does not exist yet holds no containers; any other failure to list it is thrown. */
function noRootYet(root: string, e: unknown): string[] {
  if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
  throw rootUnreadable(root, e);
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
