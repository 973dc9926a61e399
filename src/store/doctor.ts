/**
 * doctor: the index's health in one report. It checks SQLite's integrity,
 * how far the index had drifted from the directory before this call, that a
 * sync brings it exactly in line, and lists invalid files. `ok` is false when
 * anything needs a human: corruption, invalid files, or drift left after a sync.
 */
import type { Candidate } from "../errors.js";
import { ScanIndex } from "../index/scan-index.js";
import { candidateOfRow, type SqliteIndex } from "../index/sqlite-index.js";
import { isAlive } from "../watch/vouch.js";
import type { Store } from "./store.js";

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
  readonly watcher: { readonly pid: number; readonly alive: boolean; readonly drainedAtMs: number } | null;
  readonly problems: readonly string[];
}

/** @internal Left out of the installed .d.ts: it takes internal (SQLite, Node) types. */
export async function doctor(store: Store, index: SqliteIndex): Promise<DoctorReport> {
  const integrity = (index.db.pragma("integrity_check") as { integrity_check: string }[])
    .map((r) => r.integrity_check)
    .slice(0, 5)
    .join("; ");
  const scan = new ScanIndex(store.root);
  const driftBefore = drift(scan.all(), [...index.indexedFiles().values()].map(candidateOfRow));
  await store.reconcile();
  const driftAfter = drift(scan.all(), [...index.indexedFiles().values()].map(candidateOfRow));
  const invalidFiles = index.invalidFiles().map(({ name, reason }) => ({ name, reason }));
  const problems: string[] = [];
  if (integrity !== "ok") problems.push(`index integrity check failed: ${integrity}`);
  if (driftAfter.missing + driftAfter.extra > 0) {
    problems.push(
      `index still differs from the directory after a sync: ${driftAfter.missing} missing, ${driftAfter.extra} extra`,
    );
  }
  for (const f of invalidFiles) problems.push(`invalid file "${f.name}": ${f.reason}`);
  return {
    ok: problems.length === 0,
    root: store.root,
    index: store.indexPath,
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
    watcher: watcherOf(index),
    problems,
  };
}

function drift(onDisk: Candidate[], rows: Candidate[]): { missing: number; extra: number } {
  const key = (c: Candidate) => `${c.containerId}\0${c.sandboxId}`;
  const disk = new Set(onDisk.map(key));
  const indexed = new Set(rows.map(key));
  let missing = 0;
  for (const k of disk) if (!indexed.has(k)) missing++;
  let extra = 0;
  for (const k of indexed) if (!disk.has(k)) extra++;
  return { missing, extra };
}

function watcherOf(index: SqliteIndex): DoctorReport["watcher"] {
  const pid = Number(index.meta.get("watcher_pid"));
  if (!pid) return null;
  return { pid, alive: isAlive(pid), drainedAtMs: Number(index.meta.get("watcher_drained_at_ms") ?? 0) };
}
