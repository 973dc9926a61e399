/**
 * The reconciler brings the index in line with the state files. Incremental
 * passes stat every file and read only those whose size, mtime, ctime or
 * inode changed (or whose last read was racy); full passes read everything,
 * in worker threads. It only ever reads state files.
 */
import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import { type DirStamp, RACY_MS, recordSync, stampDirectory, stateFileExists } from "../freshness/racy.js";
import { lockFileName, looksLikeStateFile, parseStateFileName } from "../ids/file-names.js";
import type { IdPair } from "../ids/id.js";
import { listStateFiles, listStateFilesWithStats, visitStateFilesWithStats } from "../index/scan-index.js";
import type { FileRow, SqliteIndex } from "../index/sqlite-index.js";
import { acquireLock } from "../lock/flock.js";
import { DIR_STAT_FIELDS, type DirStats, nameOf, statsInPlace } from "../native/dir-stats.js";
import { fileInfoOf } from "../state/file-info.js";
import { DigestAccumulator, digestOf, dirDigestSums } from "./files-digest.js";
import { IndexedRows } from "./indexed-rows.js";
import { type ReadResult, readIndexRow } from "./read-state.js";
import { type StatTable, StatWorkers } from "./stat-pool.js";
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

/** @internal Options only tests set. */
export interface InternalReconcileOptions extends ReconcileOptions {
  /** lstat in worker threads from this many rows on (default: only where libc has no statx, past 50,000). */
  readonly statWorkersFrom?: number;
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
 * Where libc has no statx(2), lstat in worker threads past this many rows.
 * With statx, the listing and its stats in this thread (native/dir-stats.ts)
 * beat two workers at every size: at 100,000 a clean pass took 0.46-0.70 s
 * with a 100 MB peak RSS, against 0.85-0.95 s and 205 MB with workers.
 */
const STAT_WORKER_THRESHOLD = 50_000;
const WRITE_BATCH = 512;
/** Rows written per transaction in a pass that reads many files. */
const WRITE_ROWS = 1_024;

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export async function reconcile(
  root: string,
  index: SqliteIndex,
  options: InternalReconcileOptions = {},
): Promise<ReconcileReport> {
  const started = process.hrtime.bigint();
  const stamp = stampDirectory(root);
  const clean = options.full ? undefined : lastCleanPass(index);
  const rowCount = index.count();
  const rows = new IndexedRows(rowCount);
  const knownInvalid = index.invalidFiles();
  // A full pass, or one that stats in workers, lists first; the workers' stats overlap with reading the rows.
  const listFirst = options.full === true || rowCount >= statWorkersFrom(options);
  const nowMs = Number(stamp.readAtNs / 1_000_000n);
  // After a clean pass, a first look keeps nothing but the digest: most passes end there.
  if (clean !== undefined && !listFirst && cleanPassHolds(clean, digestHere(root), index, rowCount, nowMs)) {
    return unchangedPass(index, stamp, clean, knownInvalid, options, started);
  }
  const rowsMeanwhile = listFirst && clean === undefined;
  const listing = listFirst
    ? await listAndStat(root, index, rowsMeanwhile ? rows : undefined, !options.full)
    : listHere(root, rowCount);
  const table = listing.table;
  if (clean !== undefined && listFirst && cleanPassHolds(clean, table?.digest, index, rowCount, nowMs)) {
    return unchangedPass(index, stamp, clean, knownInvalid, options, started);
  }
  if (!rowsMeanwhile) await fillRows(index, rows);
  const listed = listing.names();
  rows.match(listed);
  const { names, badNames } = classifyNames(listed, rows);
  const vanished = new Set<string>();
  const toRead = table === undefined ? names : changedFiles(listed, table, rows, nowMs, vanished);
  const counts = { added: 0, updated: 0, removed: 0, invalid: 0 };
  const invalid = new Map<string, string>(badNames);

  await readAndApply(root, index, toRead, rows, counts, invalid, options);
  if (knownInvalid.length > 0) keepUnchangedInvalid(knownInvalid, new Set(names), new Set(toRead), vanished, invalid);

  index.write(() => {
    // A row whose file was not listed, or vanished since, is gone unless its file is there now.
    const gone = [...rows.unlisted(), ...vanished].filter((name) => !stateFileExists(root, name));
    for (const name of gone) index.remove(parseStateFileName(name)!);
    counts.removed += gone.length;
    finishPass(index, stamp, invalid);
    const digest = table?.digest?.text;
    const exact = digest !== undefined && toRead.length === 0 && vanished.size === 0 && gone.length === 0;
    if (exact) recordCleanPass(index, digest, names.length);
    else index.meta.delete("clean_pass");
  });
  options.onProgress?.(names.length, names.length);
  return {
    full: options.full === true,
    scanned: names.length,
    ...counts,
    unchanged: names.length - toRead.length - vanished.size,
    invalid: invalid.size,
    invalidFiles: [...invalid].map(([name, reason]) => ({ name, reason })),
    durationMs: msSince(started),
  };
}

/** statWorkersFrom: how many rows make an incremental pass stat in worker threads (koffi loads here, not in full passes). */
function statWorkersFrom(options: InternalReconcileOptions): number {
  return options.statWorkersFrom ?? (statsInPlace() ? Number.POSITIVE_INFINITY : STAT_WORKER_THRESHOLD);
}

/** A pass's listing of the root's state files, with their stats for an incremental pass. */
interface Listing {
  /** The names, by position (bytewise order). */
  names(): readonly string[];
  readonly table: StatTable | undefined;
}

/**
 * listHere lists the root's state files with their lstats in this thread,
 * without a string per file (native/dir-stats.ts): a clean pass (digest
 * unchanged) never decodes a name. names() sorts them bytewise, as readdir
 * does (the pass reads and logs in that order), and get(i) follows it.
 */
function listHere(root: string, expected: number): Listing {
  const listed = listStateFilesWithStats(root, expected);
  let names: string[] | undefined;
  let order: Int32Array | undefined;
  const s = listed.stats;
  let maxMtimeMs = Number.NEGATIVE_INFINITY;
  for (let at = 1; at < s.length; at += DIR_STAT_FIELDS) if (s[at]! > maxMtimeMs) maxMtimeMs = s[at]!;
  return {
    names: () => {
      if (names === undefined) ({ names, order } = sortedNames(listed));
      return names;
    },
    table: {
      digest: { text: digestOf([dirDigestSums(listed)]), maxMtimeMs },
      get(i) {
        const at = (order === undefined ? i : order[i]!) * DIR_STAT_FIELDS;
        const size = s[at]!;
        if (Number.isNaN(size)) return undefined;
        return { size, mtimeMs: s[at + 1]!, ctimeMs: s[at + 2]!, ino: s[at + 3]! };
      },
    },
  };
}

/** sortedNames decodes the listed names in bytewise order (strcmp's, as libuv sorts readdir), with each one's listing position. */
function sortedNames(listed: DirStats): { names: string[]; order: Int32Array } {
  const decoded = Array.from({ length: listed.count }, (_, i) => nameOf(listed, i));
  const ascii = decoded.every((name) => !NOT_ASCII.test(name));
  const bytes = (i: number) => listed.nameBytes.subarray(listed.nameStart[i], listed.nameStart[i + 1]! - 1);
  // ASCII names compare as strings; others (rare) by their bytes.
  const order = Int32Array.from(decoded.keys()).sort((a, b) =>
    ascii ? (decoded[a]! < decoded[b]! ? -1 : decoded[a]! > decoded[b]! ? 1 : 0) : Buffer.compare(bytes(a), bytes(b)),
  );
  return { names: Array.from(order, (i) => decoded[i]!), order };
}

const NOT_ASCII = /[^\x00-\x7f]/;

/** digestHere is the digest of the root's state files and their lstats, keeping no name (a clean pass's check). */
function digestHere(root: string): StatTable["digest"] {
  const sums = new DigestAccumulator();
  visitStateFilesWithStats(root, (names, start, end, stats, at) => sums.add(names, start, end, stats, at));
  return { text: digestOf([sums.sums()]), maxMtimeMs: sums.maxMtimeMs };
}

/**
 * listAndStat lists the root's state files (getdents64: no string for a lock
 * file), starts their stats in worker threads with `stat` (spawned first, so
 * they boot during the listing), and meanwhile reads the index's rows into
 * `rows` (when given) a page at a time.
 */
async function listAndStat(
  root: string,
  index: SqliteIndex,
  rows: IndexedRows | undefined,
  stat: boolean,
): Promise<Listing> {
  let workers = stat ? new StatWorkers() : undefined;
  try {
    const listed = listStateFiles(root);
    const stats = workers?.stat(root, listed);
    workers = undefined; // stat() ends them
    stats?.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    if (rows !== undefined) await fillRows(index, rows);
    return { names: () => listed, table: await stats };
  } finally {
    void workers?.close(); // unused: the listing failed
  }
}

/** fillRows reads every row's file metadata into `rows`, a page at a time, letting other callbacks run between. */
async function fillRows(index: SqliteIndex, rows: IndexedRows): Promise<void> {
  for (const page of index.indexedFiles(true)) {
    rows.fill(page);
    await new Promise(setImmediate);
  }
}

/** finishPass records the invalid files and that every file was stat'ed now. Call inside the write. */
function finishPass(index: SqliteIndex, stamp: DirStamp, invalid: ReadonlyMap<string, string>): void {
  for (const [name, reason] of invalid) index.recordInvalid(name, reason);
  index.keepOnlyInvalid(new Set(invalid.keys()));
  recordSync(index.meta, stamp);
  index.meta.set("contents_synced_at_ms", stamp.readAtNs / 1_000_000n);
}

/**
 * A clean pass found every row exact: no file to read, none gone, no row
 * pending or racy. Its record (meta `clean_pass`) holds the digest of the
 * files it stat'ed (files-digest.ts) and what the index held then: its last
 * event and its row count. A later pass whose stats give the same digest
 * while the index still holds the same, with no pending row and no file
 * written within RACY_MS, has nothing to compare: no file changed (a write
 * moves a ctime, which never goes back) and no row did (each row change
 * that is not a file's change, pending or a removal, shows in the checks).
 * Every incremental pass makes the digest (full passes stat nothing).
 */
interface CleanPass {
  readonly digest: string;
  readonly lastSeq: number;
  readonly rows: number;
  readonly scanned: number;
}

function recordCleanPass(index: SqliteIndex, digest: string, scanned: number): void {
  const record: CleanPass = { digest, lastSeq: index.events.lastSeq(), rows: index.count(), scanned };
  index.meta.set("clean_pass", JSON.stringify(record));
}

function lastCleanPass(index: SqliteIndex): CleanPass | undefined {
  const text = index.meta.get("clean_pass");
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as CleanPass;
    return typeof v.digest === "string" && Number.isSafeInteger(v.scanned) ? v : undefined;
  } catch {
    return undefined; // not ours to trust: compare row by row
  }
}

function cleanPassHolds(
  clean: CleanPass,
  digest: StatTable["digest"],
  index: SqliteIndex,
  rowCount: number,
  nowMs: number,
): boolean {
  return (
    digest !== undefined &&
    digest.text === clean.digest &&
    nowMs - digest.maxMtimeMs > RACY_MS &&
    rowCount === clean.rows &&
    index.events.lastSeq() === clean.lastSeq &&
    index.pendingNames().length === 0
  );
}

/** unchangedPass finishes a pass whose files are those of the last clean pass: the report of a pass that read none. */
function unchangedPass(
  index: SqliteIndex,
  stamp: DirStamp,
  clean: CleanPass,
  knownInvalid: readonly { name: string; reason: string }[],
  options: ReconcileOptions,
  started: bigint,
): ReconcileReport {
  const invalid = new Map(knownInvalid.map(({ name, reason }) => [name, reason]));
  index.write(() => finishPass(index, stamp, invalid));
  options.onProgress?.(clean.scanned, clean.scanned);
  return {
    full: false,
    scanned: clean.scanned,
    added: 0,
    updated: 0,
    removed: 0,
    unchanged: clean.scanned,
    invalid: invalid.size,
    invalidFiles: [...invalid].map(([name, reason]) => ({ name, reason })),
    durationMs: msSince(started),
  };
}

/**
 * classifyNames keeps well-formed state-file names (only names: a pass may
 * see 100k of them); those the index holds were checked when their rows
 * were written and need no parsing now.
 */
function classifyNames(all: readonly string[], rows: IndexedRows): { names: string[]; badNames: [string, string][] } {
  const names: string[] = [];
  const badNames: [string, string][] = [];
  for (let i = 0; i < all.length; i++) {
    const name = all[i]!;
    if (rows.hasRowAt(i) || parseStateFileName(name)) names.push(name);
    else if (looksLikeStateFile(name)) {
      badNames.push([name, "file name does not parse as <container>_sandbox:<sandbox>.state"]);
    }
  }
  return { names, badNames };
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

/**
 * changedFiles keeps the state files the index does not describe exactly:
 * new, changed, read racily (see RACY_MS), or written just now. `stats`
 * holds the stat of each listed name, by position; names that are not state
 * files of a container (no row and not parsing) are skipped.
 */
function changedFiles(
  listed: readonly string[],
  stats: StatTable,
  rows: IndexedRows,
  nowMs: number,
  vanished: Set<string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < listed.length; i++) {
    const name = listed[i]!;
    if (!rows.hasRowAt(i)) {
      if (parseStateFileName(name)) out.push(name); // new
      continue;
    }
    if (rows.mustReadAt(i)) {
      out.push(name); // never read, or must be read again
      continue;
    }
    const st = stats.get(i);
    if (st === undefined) {
      vanished.add(name); // removed since the listing
      continue;
    }
    if (!rows.matchesAt(i, st) || nowMs - st.mtimeMs <= RACY_MS) out.push(name);
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
  const prior: PriorRows = { hasRow: (n) => indexed.has(n), wasRead: (n) => indexed.get(n)?.[1] != null };
  const invalid = new Map<string, string>();
  await readAndApply(root, index, names, prior, { added: 0, updated: 0, removed: 0, invalid: 0 }, invalid, options);
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
  prior: PriorRows,
  counts: Counts,
  invalid: Map<string, string>,
  options: ReconcileOptions,
): Promise<void> {
  const apply = makeApplier(root, index, prior, counts, invalid, names.length, options);
  const withState = options.withState === true;
  // A worker that died (out of its small heap on a huge file, say) leaves names to read here.
  const unread =
    names.length >= WORKER_THRESHOLD
      ? await index.manyWrites(() => readInWorkers(root, names, withState, apply.batch))
      : names;
  await readHere(root, unread, withState, apply.batch);
  apply.flush();
  await apply.retryUnderLock();
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

/** What the index held for the files a pass reads, before it read them. */
interface PriorRows {
  hasRow(name: string): boolean;
  /** The row held a read of its file (a row known only by name, pending, held none). */
  wasRead(name: string): boolean;
}

function makeApplier(
  root: string,
  index: SqliteIndex,
  prior: PriorRows,
  counts: Counts,
  invalid: Map<string, string>,
  total: number,
  options: ReconcileOptions,
) {
  const suspects: string[] = [];
  let done = 0;
  const write = (r: ReadResult) => {
    if (r.kind === "row") {
      // A file the index had no row for is inserted, without reading a prior row first.
      if (!(!prior.hasRow(r.name) && index.insertNew(r.row))) index.upsert(r.row);
      // A row known only by name (pending since a name sync) counts as added.
      if (prior.wasRead(r.name)) counts.updated++;
      else counts.added++;
      invalid.delete(r.name);
    } else if (r.kind === "gone") {
      const ids = parseStateFileName(r.name);
      // Created again after our read found it missing (its writer indexed it): keep the row.
      if (stateFileExists(root, r.name)) return;
      if (ids && index.remove(ids) && prior.hasRow(r.name)) counts.removed++;
    } else {
      const ids = parseStateFileName(r.name);
      const st = fs.lstatSync(path.join(root, r.name), { throwIfNoEntry: false });
      if (ids) index.noteInvalid(ids, st && fileInfoOf(st));
      invalid.set(r.name, r.reason);
    }
  };
  /** Results taken but not written yet: a few batches go in one transaction (each commit costs ~1 ms). */
  let held: ReadResult[] = [];
  const flush = (): void => {
    const results = held;
    if (results.length === 0) return;
    held = [];
    index.write(() => {
      for (const r of results) {
        // A torn in-place write by runsc does not parse: believe that only under the lock.
        if (r.kind === "invalid" && r.torn) suspects.push(r.name);
        else write(r);
      }
    });
    done += results.length;
    options.onProgress?.(done, total);
  };
  return {
    batch(results: ReadResult[]): void {
      held = held.length === 0 ? results : held.concat(results);
      if (held.length >= WRITE_ROWS) flush();
    },
    /** flush writes what batch() holds; call once the reads are done. */
    flush,
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

/**
 * msSince: milliseconds since a process.hrtime.bigint() reading. Not
 * performance.now(): the global loads node:perf_hooks on first use, ~7 ms
 * of a one-shot `list`.
 */
function msSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
