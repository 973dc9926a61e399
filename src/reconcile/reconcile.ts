/**
 * The reconciler brings the index in line with the state files. Incremental
 * passes stat every file and read only those whose size, mtime, ctime or
 * inode changed (or whose last read was racy); full passes read everything,
 * in worker threads. It only ever reads state files.
 */
import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import { RACY_MS, recordSync, stampDirectory, stateFileExists } from "../freshness/racy.js";
import { lockFileName, looksLikeStateFile, parseStateFileName, STATE_SUFFIX } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import { listRootAsync } from "../index/scan-index.js";
import { type FileRow, idPairOfRow, type SqliteIndex } from "../index/sqlite-index.js";
import { acquireLock } from "../lock/flock.js";
import { fileInfoOf } from "../state/file-info.js";
import { type ReadResult, readIndexRow } from "./read-state.js";
import { type StatTable, statInWorkers } from "./stat-pool.js";
import { readInWorkers } from "./worker-pool.js";

export interface ReconcileOptions {
  /** Read every file, not only changed ones. */
  readonly full?: boolean;
  /** Store each file's whole JSON in `containers.state` (about 7x slower). */
  readonly withState?: boolean;
  /** Called as files are checked: (done, total). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** How long to wait for a container's lock when a file must be re-read under it. */
  readonly lockTimeoutMs?: number;
}

export interface ReconcileReport {
  readonly full: boolean;
  /** State-file names seen in the root. */
  readonly scanned: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly unchanged: number;
  readonly invalid: number;
  readonly invalidFiles: readonly { readonly name: string; readonly reason: string }[];
  readonly durationMs: number;
}

/** Reading in worker threads pays off only past this many files. */
const WORKER_THRESHOLD = 2_000;
/**
 * lstat in worker threads only past this many files: below it, starting two
 * workers costs more CPU than the calls they share (measured at 10,000 on
 * two busy cores: 0.74 s CPU with workers, 0.57 s without, for a whole `list`).
 */
const STAT_WORKER_THRESHOLD = 50_000;
const WRITE_BATCH = 512;

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export async function reconcile(
  root: string,
  index: SqliteIndex,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const started = performance.now();
  const stamp = stampDirectory(root);
  // Listing and stats run on other threads while this one reads the index, then sorts the names.
  const listing = listRootAsync(root);
  const indexed = index.indexedFiles();
  const knownInvalid = index.invalidFiles();
  const listed = (await listing).filter((name) => name.endsWith(STATE_SUFFIX));
  const stats = options.full ? undefined : statsOf(root, listed);
  const { names, known, badNames } = classifyNames(listed, indexed);
  const nowMs = Number(stamp.readAtNs / 1_000_000n);
  const vanished = new Set<string>();
  const toRead = stats === undefined ? names : changedFiles(listed, await stats, indexed, nowMs, vanished);
  const counts = { added: 0, updated: 0, removed: 0, invalid: 0 };
  const invalid = new Map<string, string>(badNames);

  await readAndApply(root, index, toRead, indexed, counts, invalid, { ...options, firstBuild: indexed.size === 0 });
  if (knownInvalid.length > 0) keepUnchangedInvalid(knownInvalid, new Set(names), new Set(toRead), vanished, invalid);

  index.write(() => {
    // Every row is listed and none vanished: nothing to remove (the common case, and no 100k-entry set).
    const gone = known === indexed.size && vanished.size === 0 ? [] : goneRows(root, names, indexed, vanished);
    for (const row of gone) index.remove(idPairOfRow(row));
    counts.removed += gone.length;
    for (const [name, reason] of invalid) index.recordInvalid(name, reason);
    index.keepOnlyInvalid(new Set(invalid.keys()));
    recordSync(index.meta, stamp);
    index.meta.set("contents_synced_at_ms", stamp.readAtNs / 1_000_000n);
  });
  options.onProgress?.(names.length, names.length);
  return {
    full: options.full === true,
    scanned: names.length,
    ...counts,
    unchanged: names.length - toRead.length - vanished.size,
    invalid: invalid.size,
    invalidFiles: [...invalid].map(([name, reason]) => ({ name, reason })),
    durationMs: performance.now() - started,
  };
}

/**
 * classifyNames keeps well-formed state-file names (only names: a pass may
 * see 100k of them) and counts those the index holds, which were checked
 * when their rows were written and need no parsing now.
 */
function classifyNames(
  all: readonly string[],
  indexed: Map<string, FileRow>,
): { names: string[]; known: number; badNames: [string, string][] } {
  const names: string[] = [];
  const badNames: [string, string][] = [];
  let known = 0;
  for (const name of all) {
    if (indexed.has(name)) {
      known++;
      names.push(name);
    } else if (parseStateFileName(name)) names.push(name);
    else if (looksLikeStateFile(name)) {
      badNames.push([name, "file name does not parse as <container>_sandbox:<sandbox>.state"]);
    }
  }
  return { names, known, badNames };
}

/**
 * keepUnchangedInvalid: an invalid file whose stat did not change was not
 * read again (a huge or deeply nested file costs its whole read every pass);
 * it stays invalid for the reason recorded when it was read.
 */
function keepUnchangedInvalid(
  known: readonly { name: string; reason: string }[],
  listed: ReadonlySet<string>,
  read: ReadonlySet<string>,
  vanished: ReadonlySet<string>,
  invalid: Map<string, string>,
): void {
  for (const { name, reason } of known) {
    if (listed.has(name) && !read.has(name) && !vanished.has(name) && !invalid.has(name)) invalid.set(name, reason);
  }
}

/** goneRows: rows whose file is not in the listing or vanished since, and is still not there. */
function goneRows(
  root: string,
  names: readonly string[],
  indexed: Map<string, FileRow>,
  vanished: Set<string>,
): FileRow[] {
  const present = new Set(names);
  const gone: FileRow[] = [];
  for (const [name, row] of indexed) {
    // A file created (and its row written) after the listing is there now.
    if ((!present.has(name) || vanished.has(name)) && !stateFileExists(root, name)) gone.push(row);
  }
  return gone;
}

/** statsOf lstats every listed name: in worker threads for a large root, else here, one by one as asked. */
function statsOf(root: string, listed: readonly string[]): Promise<StatTable> | StatTable {
  if (listed.length >= STAT_WORKER_THRESHOLD) return statInWorkers(root, listed);
  return { get: (i) => fs.lstatSync(`${root}/${listed[i]}`, { throwIfNoEntry: false }) };
}

/**
 * changedFiles keeps the state files the index does not describe exactly:
 * new, changed, read racily (see RACY_MS), or written just now. `stats`
 * holds the stat of each listed name, by position; names that are not state
 * files of a container (not in `indexed` and not parsing) are skipped.
 */
function changedFiles(
  listed: readonly string[],
  stats: StatTable,
  indexed: Map<string, FileRow>,
  nowMs: number,
  vanished: Set<string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < listed.length; i++) {
    const name = listed[i]!;
    const row = indexed.get(name);
    if (row === undefined) {
      if (parseStateFileName(name)) out.push(name); // new
      continue;
    }
    const [, size, mtimeMs, ctimeMs, ino, , mustRead] = row;
    if (size === null || mustRead) {
      out.push(name); // never read, or must be read again
      continue;
    }
    const st = stats.get(i);
    if (st === undefined) {
      vanished.add(name); // removed since the listing
      continue;
    }
    const same = st.size === size && st.mtimeMs === mtimeMs && st.ctimeMs === ctimeMs && st.ino === ino;
    if (!same || nowMs - st.mtimeMs <= RACY_MS) out.push(name);
  }
  return out;
}

/**
 * refreshFiles re-reads the named state files (pending rows, say) and writes
 * what they hold to the index.
 * @internal Left out of the installed .d.ts: it takes internal (SQLite) types.
 */
export async function refreshFiles(
  root: string,
  index: SqliteIndex,
  names: readonly string[],
  options: ReconcileOptions = {},
): Promise<void> {
  const indexed = new Map<string, FileRow>();
  for (const name of names) {
    const row = index.indexedFile(parseStateFileName(name)!);
    if (row) indexed.set(name, row);
  }
  const invalid = new Map<string, string>();
  await readAndApply(root, index, names, indexed, { added: 0, updated: 0, removed: 0, invalid: 0 }, invalid, options);
  index.write(() => {
    // A file that reads now (or is gone) is no longer invalid: an earlier read may have caught a torn write.
    for (const name of names) if (!invalid.has(name)) index.clearInvalid(name);
    for (const [name, reason] of invalid) index.recordInvalid(name, reason);
  });
}

async function readAndApply(
  root: string,
  index: SqliteIndex,
  names: readonly string[],
  indexed: Map<string, FileRow>,
  counts: Counts,
  invalid: Map<string, string>,
  options: ApplyOptions,
): Promise<void> {
  const apply = makeApplier(root, index, indexed, counts, invalid, names.length, options);
  const withState = options.withState === true;
  try {
    if (names.length >= WORKER_THRESHOLD) await readInWorkers(root, names, withState, apply.batch);
    else await readHere(root, names, withState, apply.batch);
  } catch (e) {
    if (!isWorkerFailure(e)) throw e;
    // A worker died (out of its small heap on a huge file, say): read the rest here.
    await readHere(
      root,
      names.filter((name) => !apply.applied.has(name)),
      withState,
      apply.batch,
    );
  }
  await apply.retryUnderLock();
}

function isWorkerFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_WORKER_");
}

async function readHere(
  root: string,
  names: readonly string[],
  withState: boolean,
  onBatch: (r: ReadResult[]) => void,
): Promise<void> {
  for (let i = 0; i < names.length; i += WRITE_BATCH) {
    const batch = names
      .slice(i, i + WRITE_BATCH)
      .map((name) => readIndexRow(root, name, parseStateFileName(name)!, withState));
    onBatch(batch);
  }
}

type Counts = { added: number; updated: number; removed: number; invalid: number };

/**
 * A first build: the pass began on an index with no rows. While the event
 * log is also empty (nothing was ever logged, checked per batch), its rows
 * are written without a `created` event each: the files were there before
 * the index, and the log starts from the index's first build, as `since`
 * (default: now) already implies. One statement a row instead of three.
 */
type ApplyOptions = ReconcileOptions & { readonly firstBuild?: boolean };

function makeApplier(
  root: string,
  index: SqliteIndex,
  indexed: Map<string, FileRow>,
  counts: Counts,
  invalid: Map<string, string>,
  total: number,
  options: ApplyOptions,
) {
  const suspects: string[] = [];
  const applied = new Set<string>();
  let done = 0;
  const write = (r: ReadResult, quiet = false) => {
    if (r.kind === "row") {
      if (quiet && index.insertFirst(r.row)) {
        counts.added++;
        invalid.delete(r.name);
        return;
      }
      index.upsert(r.row);
      // A row known only by name (pending since a name sync) counts as added.
      if (indexed.get(r.name)?.[1] != null) counts.updated++;
      else counts.added++;
      invalid.delete(r.name);
    } else if (r.kind === "gone") {
      const ids = parseStateFileName(r.name);
      // Created again after our read found it missing (its writer indexed it): keep the row.
      if (stateFileExists(root, r.name)) return;
      if (ids && index.remove(ids) && indexed.has(r.name)) counts.removed++;
    } else {
      const ids = parseStateFileName(r.name);
      const st = fs.lstatSync(path.join(root, r.name), { throwIfNoEntry: false });
      if (ids) index.noteInvalid(ids, st && fileInfoOf(st));
      invalid.set(r.name, r.reason);
    }
  };
  return {
    /** Names whose result was taken, so a fallback after a worker failure does not count them twice. */
    applied,
    batch(results: ReadResult[]): void {
      index.write(() => {
        const quiet = options.firstBuild === true && index.events.lastSeq() === 0;
        for (const r of results) {
          applied.add(r.name);
          // A torn in-place write by runsc does not parse: believe that only under the lock.
          if (r.kind === "invalid" && r.torn) suspects.push(r.name);
          else write(r, quiet);
        }
      });
      done += results.length;
      options.onProgress?.(done, total);
    },
    async retryUnderLock(): Promise<void> {
      for (const name of suspects.splice(0)) {
        const ids = parseStateFileName(name)!;
        const result = await readUnderLock(root, name, ids, options);
        index.write(() => write(result));
      }
    },
  };
}

/**
 * readUnderLock re-reads a file that did not parse while holding its lock,
 * so a writer's in-place write is complete. With no lock file there is no
 * writer (runsc holds the lock for every write): the read stands.
 */
async function readUnderLock(root: string, name: string, ids: IdPair, options: ReconcileOptions): Promise<ReadResult> {
  const lockPath = path.join(root, lockFileName(ids.containerId, ids.sandboxId));
  let lock: Awaited<ReturnType<typeof acquireLock>> | undefined;
  try {
    lock = await acquireLock(lockPath, { timeoutMs: options.lockTimeoutMs ?? 5_000 }, { create: false });
  } catch (e) {
    if (!(e instanceof RunscIndexError)) throw e;
    if (e.code !== "ERR_NOT_FOUND")
      return { kind: "invalid", name, reason: `unreadable and ${e.message}`, torn: false };
  }
  try {
    return readIndexRow(root, name, ids, options.withState === true);
  } finally {
    lock?.release();
  }
}
