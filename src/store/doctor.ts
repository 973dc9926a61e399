/**
 * doctor: the index's health in one report. It checks SQLite's integrity,
 * how far the index had drifted from the directory before this call, that a
 * sync brings it exactly in line, and lists invalid files. `ok` is false when
 * anything needs a human: corruption, invalid files, or drift left after a sync.
 */
import fs from "node:fs";
import path from "node:path";
import { registeredWatchers } from "../freshness/vouch.js";
import { parseLockFileName, tempTagOf } from "../ids/file-names.js";
import { type IdPair, idPairKey } from "../ids/id.js";
import { isCorruption } from "../index/open-index.js";
import { listRoot, ScanIndex } from "../index/scan-index.js";
import { idPairOfRow, type SqliteIndex } from "../index/sqlite-index.js";
import { kindOf } from "../native/safe-fs.js";

export interface DoctorReport {
  readonly ok: boolean;
  readonly root: string;
  readonly index: string;
  /** PRAGMA integrity_check: "ok" or SQLite's first messages. */
  readonly integrity: string;
  /** Before this call: state files the index lacked, and rows without a file. */
  readonly driftBefore: { readonly missing: number; readonly extra: number };
  /** After a sync: must both be 0. */
  readonly driftAfter: { readonly missing: number; readonly extra: number };
  readonly counts: {
    readonly containers: number;
    readonly sandboxes: number;
    readonly pending: number;
    readonly invalid: number;
  };
  readonly invalidFiles: readonly { readonly name: string; readonly reason: string }[];
  /** Entries named like a lock or temporary file that are not regular files (planted: runsc makes none). */
  readonly specialFiles: readonly { readonly name: string; readonly reason: string }[];
  /** A registered watcher (a trusted one first): alive means its PID still runs with the start time it registered. */
  readonly watcher: { readonly pid: number; readonly alive: boolean; readonly drainedAtMs: number } | null;
  readonly problems: readonly string[];
}

/**
 * @internal Left out of the installed .d.ts: it takes internal (SQLite) types.
 * doctor builds the report. `index` is asked again after `reconcile`, which
 * may have found the index corrupt and rebuilt it: counts and files then come
 * from the rebuilt index, integrity from the one found.
 */
export async function doctor(
  root: string,
  indexPath: string,
  indexInUse: () => SqliteIndex,
  reconcile: () => Promise<unknown>,
): Promise<DoctorReport> {
  const found = indexInUse();
  const integrity = integrityOf(found);
  const driftBefore = driftOf(new ScanIndex(root), found);
  await reconcile();
  const index = indexInUse();
  const driftAfter = drift(new ScanIndex(root).all(), [...index.indexedFiles().values()].map(idPairOfRow));
  const invalidFiles = index.invalidFiles().map(({ name, reason }) => ({ name, reason }));
  const specialFiles = specialFilesIn(root);
  const problems: string[] = [];
  if (integrity !== "ok") problems.push(`index integrity check failed: ${integrity}`);
  if (driftAfter.missing + driftAfter.extra > 0) {
    problems.push(
      `index still differs from the directory after a sync: ${driftAfter.missing} missing, ${driftAfter.extra} extra`,
    );
  }
  for (const f of invalidFiles) problems.push(`invalid file "${f.name}": ${f.reason}`);
  for (const f of specialFiles) problems.push(`special file "${f.name}": ${f.reason}`);
  return {
    ok: problems.length === 0,
    root,
    index: indexPath,
    integrity,
    driftBefore,
    driftAfter,
    counts: {
      containers: index.count(),
      sandboxes: index.sandboxIds().length,
      pending: index.pendingNames().length,
      invalid: invalidFiles.length,
    },
    invalidFiles,
    specialFiles,
    watcher: watcherOf(index, root),
    problems,
  };
}

/** specialFilesIn: lock- and temp-file names whose entry is not a regular file (state files are in invalidFiles). */
function specialFilesIn(root: string): { name: string; reason: string }[] {
  const out: { name: string; reason: string }[] = [];
  for (const name of listRoot(root)) {
    if (parseLockFileName(name) === undefined && tempTagOf(name) === undefined) continue;
    const st = fs.lstatSync(path.join(root, name), { throwIfNoEntry: false });
    if (st !== undefined && !st.isFile()) out.push({ name, reason: `${kindOf(st)}, not a regular file` });
  }
  return out;
}

/** integrityOf runs PRAGMA integrity_check: "ok", SQLite's first messages, or the error that stopped it. */
function integrityOf(index: SqliteIndex): string {
  try {
    return (index.db.pragma("integrity_check") as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .slice(0, 5)
      .join("; ");
  } catch (e) {
    if (!isCorruption(e)) throw e;
    return (e as Error).message;
  }
}

/** driftOf compares the index with the directory; an index too damaged to read lacks every file. */
function driftOf(scan: ScanIndex, index: SqliteIndex): { missing: number; extra: number } {
  let rows: IdPair[];
  try {
    rows = [...index.indexedFiles().values()].map(idPairOfRow);
  } catch (e) {
    if (!isCorruption(e)) throw e;
    rows = [];
  }
  return drift(scan.all(), rows);
}

function drift(onDisk: IdPair[], rows: IdPair[]): { missing: number; extra: number } {
  const disk = new Set(onDisk.map(idPairKey));
  const indexed = new Set(rows.map(idPairKey));
  let missing = 0;
  for (const k of disk) if (!indexed.has(k)) missing++;
  let extra = 0;
  for (const k of indexed) if (!disk.has(k)) extra++;
  return { missing, extra };
}

function watcherOf(index: SqliteIndex, root: string): DoctorReport["watcher"] {
  const [w] = registeredWatchers(index.meta, root).sort((a, b) => Number(b.trusted) - Number(a.trusted));
  return w ? { pid: w.pid, alive: w.trusted, drainedAtMs: w.drainedAtMs } : null;
}
