import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INDEX_DIR, openStore, type ReconcileReport, type Store } from "../../src/index.js";
import { STAT_CHUNK, StatWorkers } from "../../src/reconcile/stat-pool.js";
import { makeRoot, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

/** Past the 2,000 files at which a full pass reads in worker threads. */
const FILES = 2_100;
const BROKEN = ["broken-a", "broken-b", "broken-c"];
const LEGACY = ["created", "creating", "paused", "running", "stopped"];

/** Was a bug: under the TypeScript sources workers did not get tsx's loader (fixed in spawnWorker). */
const itWorkers = it;

const idOf = (i: number) => `w${String(i).padStart(5, "0")}`;
/** Every third container is a sandbox's root; the two after it are its sub-containers. */
const sandboxOf = (i: number) => idOf(i - (i % 3));

function fillRoot(root: string): void {
  for (let i = 0; i < FILES; i++) {
    const statuses: (string | number)[] = ["created", "running", "paused", "stopped", 3, 0];
    writeState(root, {
      containerId: idOf(i),
      sandboxId: sandboxOf(i),
      status: statuses[i % statuses.length]!,
      pid: 100_000 + i,
      createdAt: `2026-08-12T14:03:${String(i % 60).padStart(2, "0")}.${i}Z`,
      edit: (d) => {
        d.owner = i % 7 === 0 ? `user${i}` : "";
        d.sandbox.podName = `pod-${i - (i % 3)}`;
        d.spec.annotations = { ...d.spec.annotations, "test/index": String(i), "test/html": "<a&b>" };
      },
    });
  }
  for (const id of BROKEN) fs.writeFileSync(statePath(root, id, id), `{"id":"${id}","sta`);
}

interface Row {
  container_id: string;
  sandbox_id: string;
  status: string | null;
  pid: number | null;
  gofer_pid: number | null;
  created_at: string | null;
  bundle_dir: string | null;
  owner: string | null;
  is_root: number;
  pod_name: string | null;
  pod_namespace: string | null;
  start_time: string | null;
  annotations: string | null;
  file_size: number | null;
  file_ino: number | null;
  state: string | null;
}

function rowsOf(indexPath: string): Row[] {
  const db = new Database(indexPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT container_id, sandbox_id, status, pid, gofer_pid, created_at, bundle_dir, owner, is_root, pod_name,
           pod_namespace, start_time, annotations, file_size, file_ino, state
         FROM containers ORDER BY container_id, sandbox_id`,
      )
      .all() as Row[];
  } finally {
    db.close();
  }
}

/** expectedRow reads one state file by itself with JSON.parse and stat. */
function expectedRow(root: string, i: number) {
  const file = statePath(root, idOf(i), sandboxOf(i));
  const text = fs.readFileSync(file, "utf8");
  const doc = JSON.parse(text);
  const st = fs.statSync(file);
  return {
    container_id: idOf(i),
    sandbox_id: sandboxOf(i),
    status: typeof doc.status === "number" ? LEGACY[doc.status] : doc.status,
    pid: doc.sandbox.pid,
    gofer_pid: doc.goferPid,
    created_at: doc.createdAt,
    bundle_dir: doc.bundleDir,
    owner: doc.owner,
    is_root: idOf(i) === sandboxOf(i) ? 1 : 0,
    pod_name: doc.sandbox.podName,
    pod_namespace: doc.sandbox.namespace,
    start_time: doc.sandbox.startTime,
    annotations: doc.spec.annotations,
    file_size: st.size,
    file_ino: st.ino,
    state: text,
  };
}

const threadCount = () => fs.readdirSync("/proc/self/task").length;

describe("reconcile: a full pass over >= 2,000 files reads in worker threads", () => {
  let root: string;
  let store: Store;
  let report: ReconcileReport | undefined;
  let failure: unknown;
  let threadsBefore: number;
  let threadsDuring = 0;
  const progress: [number, number][] = [];

  beforeAll(async () => {
    root = makeRoot();
    fillRoot(root);
    store = openStore({ root });
    threadsBefore = threadCount();
    try {
      report = await store.reconcile({
        full: true,
        withState: true,
        onProgress: (done, total) => {
          progress.push([done, total]);
          threadsDuring = Math.max(threadsDuring, threadCount());
        },
      });
    } catch (e) {
      failure = e; // each test below fails with it
    }
  });

  /** The pass's report; throws the pass's error when it failed. */
  function passed(): ReconcileReport {
    if (report === undefined) throw failure;
    return report;
  }
  afterAll(() => {
    store.close();
    removeTempDirs();
  });

  itWorkers("completes", () => {
    expect(passed().scanned).toBeGreaterThan(0);
  });

  itWorkers("uses worker threads: the process has more threads while the pass runs", () => {
    passed();
    const workers = Math.min(os.availableParallelism(), 4);
    expect(threadsDuring - threadsBefore).toBeGreaterThanOrEqual(workers);
  });

  itWorkers("reports every file, and the unparseable ones as invalid", () => {
    const report = passed();
    expect(report.full).toBe(true);
    expect(report.scanned).toBe(FILES + BROKEN.length);
    expect(report.added).toBe(FILES);
    expect(report.invalid).toBe(BROKEN.length);
    expect(report.invalidFiles.map((f) => f.name).sort()).toEqual(BROKEN.map((id) => `${id}_sandbox:${id}.state`));
  });

  itWorkers("gives each container exactly the row a per-file read of its state file gives", () => {
    passed();
    const rows = rowsOf(path.join(root, INDEX_DIR, "index.db")).filter((r) => r.status !== null);
    expect(rows).toHaveLength(FILES);
    for (const [i, row] of rows.entries()) {
      const expected = expectedRow(root, i);
      expect({ ...row, annotations: JSON.parse(row.annotations!) }, expected.container_id).toEqual(expected);
    }
  });

  itWorkers("gives the same rows as loading each container under its lock, one by one", async () => {
    passed();
    const other = path.join(root, INDEX_DIR, "per-file.db");
    const perFile = openStore({ root, index: other });
    try {
      for (let i = 0; i < FILES; i++) {
        await perFile.load(idOf(i), { exact: true, sandbox: sandboxOf(i), skipCheck: true });
      }
    } finally {
      perFile.close();
    }
    const strip = (rows: Row[]) => rows.filter((r) => r.status !== null).map(({ state: _, ...r }) => r);
    expect(strip(rowsOf(other))).toEqual(strip(rowsOf(path.join(root, INDEX_DIR, "index.db"))));
  });

  itWorkers("reports progress up to (scanned, scanned)", () => {
    const report = passed();
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toEqual([report.scanned, report.scanned]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0]);
  });

  itWorkers("lists every valid container through the store", async () => {
    passed();
    const listed = await store.list({ fresh: false, skipCheck: true });
    expect(listed).toHaveLength(FILES);
    expect(store.listSandboxes()).toHaveLength(FILES / 3 + BROKEN.length);
  });
});

describe("reconcile: files that vanish during a worker-thread pass", () => {
  afterAll(() => removeTempDirs());

  itWorkers("are not errors, and the store answers without them afterwards", async () => {
    const root = makeRoot();
    fillRoot(root);
    for (const id of BROKEN) fs.rmSync(statePath(root, id, id));
    const store = openStore({ root });
    try {
      const gone: string[] = [];
      const report = await store.reconcile({
        full: true,
        onProgress: () => {
          if (gone.length > 0) return;
          for (let i = FILES - 40; i < FILES; i++) {
            fs.rmSync(statePath(root, idOf(i), sandboxOf(i)));
            gone.push(idOf(i));
          }
        },
      });
      expect(gone).toHaveLength(40);
      expect(report.invalid).toBe(0);
      const listed = new Set((await store.list({ skipCheck: true })).map((c) => c.containerId));
      expect(listed.size).toBe(FILES - 40);
      for (const id of gone) {
        expect(listed.has(id)).toBe(false);
        expect(() => store.resolve(id)).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
      }
      expect(store.resolve(idOf(FILES - 41)).containerId).toBe(idOf(FILES - 41));
    } finally {
      store.close();
    }
  });
});

describe("StatWorkers (incremental passes past 50,000 files)", () => {
  itWorkers("gives lstat's size, times and inode for every name, and undefined for a missing one", async () => {
    const dir = makeRoot();
    const names = Array.from({ length: 300 }, (_, i) => path.basename(writeState(dir, { containerId: idOf(i) })));
    names.splice(150, 0, "missing_sandbox:missing.state");
    const table = await new StatWorkers().stat(dir, names);
    const got = names.map((_, i) => table.get(i));
    const want = names.map((n) => {
      const st = fs.lstatSync(path.join(dir, n), { throwIfNoEntry: false });
      return st && { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
    });
    expect(got).toEqual(want);
    expect(got[150]).toBeUndefined();
  });

  itWorkers(
    "gives each name its own stat across many chunks (a worker once ran out of heap on 100,000 names)",
    async () => {
      const dir = makeRoot();
      const count = 2 * STAT_CHUNK + 7;
      // Mostly missing names (cheap to lstat), with real files at the chunks' edges.
      const real = [0, STAT_CHUNK - 1, STAT_CHUNK, 2 * STAT_CHUNK, count - 1];
      const names = Array.from({ length: count }, (_, i) => `m${i}_sandbox:m${i}.state`);
      for (const i of real) names[i] = path.basename(writeState(dir, { containerId: idOf(i) }));
      const table = await new StatWorkers().stat(dir, names);
      for (let i = 0; i < count; i++) {
        const st = table.get(i);
        if (!real.includes(i)) expect(st).toBeUndefined();
        else expect(st?.ino).toBe(fs.lstatSync(path.join(dir, names[i]!)).ino);
      }
      expect(table.digest?.text).toMatch(new RegExp(`^${count}:`));
    },
  );
});
