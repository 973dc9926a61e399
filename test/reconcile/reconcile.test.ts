import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { parseIdPair } from "../../src/ids/id.js";
import type { SqliteIndex } from "../../src/index/sqlite-index.js";
import { INDEX_DIR, openStore, type ReconcileReport, type Store } from "../../src/index.js";
import { reconcile } from "../../src/reconcile/reconcile.js";
import { holdForeignLock, isLockFree, killSpawned, waitUntil } from "../helpers/foreign.js";
import { lockPath, makeRoot, removeTempDirs, statePath, stateText, writeState } from "../helpers/roots.js";
import { closeLater, closeOpened, countList, countRowReads, openIndex } from "./pass-probes.js";

afterEach(async () => {
  await killSpawned();
  closeOpened();
  removeTempDirs();
});

function track(store: Store): Store {
  closeLater(store);
  return store;
}

/** Mtimes a minute old, in whole seconds: no file is "racy", and a test can put an mtime back exactly. */
const AGED_S = Math.floor(Date.now() / 1000) - 60;

/** age sets every regular state file's mtime to AGED_S, as if runsc wrote them a minute ago. */
function age(root: string): void {
  for (const name of fs.readdirSync(root)) {
    const file = path.join(root, name);
    if (name.endsWith(".state") && fs.lstatSync(file).isFile()) fs.utimesSync(file, AGED_S, AGED_S);
  }
}

/** writeInPlace rewrites a file as runsc's os.WriteFile does: open O_WRONLY|O_TRUNC, write. No rename. */
function writeInPlace(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** renameOver writes a temporary file beside `file` and renames it over `file`. */
function renameOver(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.tmp-${crypto.randomUUID()}`);
  fs.writeFileSync(temp, text, { mode: 0o640 });
  fs.renameSync(temp, file);
}

function removeContainer(root: string, cid: string, sid = cid): void {
  fs.rmSync(statePath(root, cid, sid));
  fs.rmSync(lockPath(root, cid, sid), { force: true });
}

interface Row {
  container_id: string;
  sandbox_id: string;
  status: string | null;
  pid: number | null;
  file_size: number | null;
  file_ino: number | null;
  state: string | null;
}

/** rowsOf reads the containers table straight from the index file. */
function rowsOf(root: string): Row[] {
  const db = new Database(path.join(root, INDEX_DIR, "index.db"), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        "SELECT container_id, sandbox_id, status, pid, file_size, file_ino, state FROM containers ORDER BY container_id, sandbox_id",
      )
      .all() as Row[];
  } finally {
    db.close();
  }
}

function invalidOf(root: string): { name: string; reason: string }[] {
  const db = new Database(path.join(root, INDEX_DIR, "index.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT name, reason FROM invalid_files ORDER BY name").all() as {
      name: string;
      reason: string;
    }[];
  } finally {
    db.close();
  }
}

const LEGACY = ["created", "creating", "paused", "running", "stopped"];

/** expectedRows reads every well-named state file by itself (JSON.parse, stat) and says what its row must hold. */
function expectedRows(root: string, names?: readonly string[]): Omit<Row, "state">[] {
  const out: Omit<Row, "state">[] = [];
  for (const name of names ?? fs.readdirSync(root)) {
    const m = /^([A-Za-z0-9_+.-]+)_sandbox:([A-Za-z0-9_+.-]+)\.state$/.exec(name);
    if (!m) continue;
    const file = path.join(root, name);
    const doc = JSON.parse(fs.readFileSync(file, "utf8"));
    const st = fs.statSync(file);
    out.push({
      container_id: m[1]!,
      sandbox_id: m[2]!,
      status: typeof doc.status === "number" ? LEGACY[doc.status]! : doc.status,
      pid: doc.sandbox.pid,
      file_size: st.size,
      file_ino: st.ino,
    });
  }
  return out.sort((a, b) => cmp(a.container_id, b.container_id) || cmp(a.sandbox_id, b.sandbox_id));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const withoutState = (rows: Row[]) => rows.map(({ state: _, ...r }) => r);

function counts(r: ReconcileReport) {
  return {
    scanned: r.scanned,
    added: r.added,
    updated: r.updated,
    removed: r.removed,
    unchanged: r.unchanged,
    invalid: r.invalid,
  };
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** A root with sandboxes s1 (root + two sub-containers) and s2 (root only), mtimes aged. */
function sampleRoot(): string {
  const root = makeRoot();
  writeState(root, { containerId: "s1", status: "running" });
  writeState(root, { containerId: "c1", sandboxId: "s1", status: "created" });
  writeState(root, { containerId: "c2", sandboxId: "s1", status: "running", pid: 4242 });
  writeState(root, { containerId: "s2", status: 3 });
  writeState(root, { containerId: "c3", sandboxId: "s2", status: "stopped" });
  age(root);
  return root;
}

describe("reconcile: full and incremental passes bring the index in line with the files", () => {
  it("a full pass on a new index adds every file", async () => {
    const root = sampleRoot();
    const report = await reconcile(root, openIndex(root), { full: true });
    expect(report.full).toBe(true);
    expect(counts(report)).toEqual({ scanned: 5, added: 5, updated: 0, removed: 0, unchanged: 0, invalid: 0 });
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });

  it("an incremental pass on a new index adds every file", async () => {
    const root = sampleRoot();
    const report = await reconcile(root, openIndex(root));
    expect(report.full).toBe(false);
    expect(counts(report)).toEqual({ scanned: 5, added: 5, updated: 0, removed: 0, unchanged: 0, invalid: 0 });
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });

  it("legacy integer statuses are stored as status strings", async () => {
    const root = sampleRoot();
    await reconcile(root, openIndex(root));
    expect(rowsOf(root).find((r) => r.container_id === "s2")!.status).toBe("running");
  });

  it("an incremental pass with nothing changed reads nothing", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 5, added: 0, updated: 0, removed: 0, unchanged: 5, invalid: 0 });
  });

  it("a full pass re-reads every file", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const report = await reconcile(root, index, { full: true });
    expect(counts(report)).toEqual({ scanned: 5, added: 0, updated: 5, removed: 0, unchanged: 0, invalid: 0 });
  });

  it("incremental after files are added: they are added", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    writeState(root, { containerId: "s3", status: "created" });
    writeState(root, { containerId: "c4", sandboxId: "s3", status: "created" });
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 7, added: 2, updated: 0, removed: 0, unchanged: 5, invalid: 0 });
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });

  it("incremental after files are removed: their rows are removed", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    removeContainer(root, "c1", "s1");
    removeContainer(root, "c3", "s2");
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 3, added: 0, updated: 0, removed: 2, unchanged: 3, invalid: 0 });
    expect(rowsOf(root).map((r) => r.container_id)).toEqual(["c2", "s1", "s2"]);
  });

  it("incremental after a file is rewritten in place with the same size: the row is updated", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const file = statePath(root, "c1", "s1");
    const next = stateText({ containerId: "c1", sandboxId: "s1", status: "running", rootDir: root });
    expect(Buffer.byteLength(next)).toBe(fs.statSync(file).size);
    const ino = fs.statSync(file).ino;
    writeInPlace(file, next);
    expect(fs.statSync(file).ino).toBe(ino);
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 5, added: 0, updated: 1, removed: 0, unchanged: 4, invalid: 0 });
    expect(rowsOf(root).find((r) => r.container_id === "c1")!.status).toBe("running");
  });

  it("incremental after a same-size in-place rewrite whose mtime was put back: ctime gives it away", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const file = statePath(root, "c1", "s1");
    const before = fs.statSync(file, { bigint: true });
    writeInPlace(file, stateText({ containerId: "c1", sandboxId: "s1", status: "stopped", rootDir: root }));
    fs.utimesSync(file, AGED_S, AGED_S);
    const after = fs.statSync(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    const report = await reconcile(root, index);
    expect(report.updated).toBe(1);
    expect(rowsOf(root).find((r) => r.container_id === "c1")!.status).toBe("stopped");
  });

  it("incremental after a file is rewritten in place with a different size: the row is updated", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const file = statePath(root, "c2", "s1");
    const size = fs.statSync(file).size;
    writeInPlace(file, stateText({ containerId: "c2", sandboxId: "s1", status: "paused", pid: 99, rootDir: root }));
    expect(fs.statSync(file).size).not.toBe(size);
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 5, added: 0, updated: 1, removed: 0, unchanged: 4, invalid: 0 });
    expect(rowsOf(root).find((r) => r.container_id === "c2")).toMatchObject({ status: "paused", pid: 99 });
  });

  it("incremental after a file is renamed over (temp + rename): the row has the new content and inode", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    const file = statePath(root, "s1", "s1");
    renameOver(file, stateText({ containerId: "s1", status: "paused", rootDir: root }));
    fs.utimesSync(file, AGED_S, AGED_S); // even with the old mtime, the new inode gives it away
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 5, added: 0, updated: 1, removed: 0, unchanged: 4, invalid: 0 });
    expect(rowsOf(root).find((r) => r.container_id === "s1")).toMatchObject({
      status: "paused",
      file_ino: fs.statSync(file).ino,
    });
  });

  it("incremental after a mix of changes counts each kind once and matches the files", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    writeState(root, { containerId: "s9", status: "created" });
    removeContainer(root, "c3", "s2");
    writeInPlace(statePath(root, "c1", "s1"), stateText({ containerId: "c1", sandboxId: "s1", status: "paused" }));
    renameOver(statePath(root, "c2", "s1"), stateText({ containerId: "c2", sandboxId: "s1", status: "stopped" }));
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 5, added: 1, updated: 2, removed: 1, unchanged: 2, invalid: 0 });
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });

  it("rows for files removed while no pass ran go, even when the root is then empty", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index);
    for (const n of fs.readdirSync(root)) if (n.endsWith(".state")) fs.rmSync(path.join(root, n));
    const report = await reconcile(root, index);
    expect(counts(report)).toEqual({ scanned: 0, added: 0, updated: 0, removed: 5, unchanged: 0, invalid: 0 });
    expect(rowsOf(root)).toEqual([]);
  });
});

describe("reconcile: the event log of a first build", () => {
  it("each file the index had no row for is logged `created` once, in a first build too (full and incremental)", async () => {
    for (const full of [true, false]) {
      const root = makeRoot();
      for (let i = 0; i < 3_000; i++) writeState(root, { containerId: `b${i}` }); // past the worker threshold
      const index = openIndex(root);
      const first = await reconcile(root, index, { full });
      expect(first.added).toBe(3_000);
      expect(index.count()).toBe(3_000);
      const created = index.events.after(0, 10_000);
      expect(created.every((e) => e.type === "created")).toBe(true);
      expect(new Set(created.map((e) => e.containerId)).size).toBe(3_000);
      writeState(root, { containerId: "later" });
      fs.rmSync(statePath(root, "b0", "b0"));
      const second = await reconcile(root, index, { full });
      expect([second.added, second.removed]).toEqual([1, 1]);
      expect(index.events.after(3_000).map((e) => [e.type, e.containerId])).toEqual([
        ["created", "later"],
        ["removed", "b0"],
      ]);
    }
  }, 60_000);
});

describe("reconcile: a pass after a clean pass (stats in worker threads, with their digest)", () => {
  const WORKERS = { statWorkersFrom: 1 };

  /** A root of 20 aged files and its index after a pass that read them and one that found every row exact. */
  async function afterCleanPass(): Promise<{ root: string; index: SqliteIndex }> {
    const root = makeRoot();
    for (let i = 0; i < 20; i++) writeState(root, { containerId: `d${i}`, status: "running" });
    age(root);
    const index = openIndex(root);
    expect((await reconcile(root, index, WORKERS)).added).toBe(20);
    expect((await reconcile(root, index, WORKERS)).unchanged).toBe(20);
    expect(index.meta.get("clean_pass")).toBeDefined();
    return { root, index };
  }

  it("with nothing changed reads no row and reports every file unchanged", async () => {
    const { root, index } = await afterCleanPass();
    const reads = countRowReads(index);
    expect(countList(await reconcile(root, index, WORKERS))).toEqual([20, 20, 0, 0, 0]);
    expect(reads()).toBe(0);
  });

  it("finds an in-place write of the same size with its mtime put back (the ctime moved)", async () => {
    const { root, index } = await afterCleanPass();
    const file = statePath(root, "d3", "d3");
    const before = fs.statSync(file);
    writeInPlace(file, stateText({ containerId: "d3", status: "stopped", rootDir: root }));
    fs.utimesSync(file, AGED_S, AGED_S);
    const after = fs.statSync(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect(countList(await reconcile(root, index, WORKERS))).toEqual([20, 19, 0, 1, 0]);
    expect(index.row(parseIdPair("d3", "d3"))?.status).toBe("stopped");
  });

  it("finds a file removed and a file added", async () => {
    const { root, index } = await afterCleanPass();
    fs.rmSync(statePath(root, "d1", "d1"));
    writeState(root, { containerId: "new" });
    expect(countList(await reconcile(root, index, WORKERS))).toEqual([20, 19, 1, 0, 1]);
  });

  it("reads the rows again when the index changed without a file: a row pending, a row removed, an event logged", async () => {
    const pending = await afterCleanPass();
    pending.index.notePending(parseIdPair("d2", "d2"));
    expect(countList(await reconcile(pending.root, pending.index, WORKERS))).toEqual([20, 19, 0, 1, 0]);
    expect(pending.index.pendingNames()).toEqual([]);

    const removed = await afterCleanPass();
    removed.index.write(() => removed.index.remove(parseIdPair("d4", "d4")));
    expect(countList(await reconcile(removed.root, removed.index, WORKERS))).toEqual([20, 19, 1, 0, 0]);
    expect(removed.index.count()).toBe(20);

    const logged = await afterCleanPass();
    logged.index.write(() => logged.index.events.append("overflow", null, null, null, null, null));
    const reads = countRowReads(logged.index);
    expect(countList(await reconcile(logged.root, logged.index, WORKERS))).toEqual([20, 20, 0, 0, 0]);
    expect(reads()).toBeGreaterThan(0);
  });
});

describe("reconcile through the store reports the same counts", () => {
  // The store's name tracking (inotify, listing sync) runs before the pass and may already have
  // noted new names as pending rows or dropped vanished ones: the report must count them all the same.
  it("first reconcile of a root: every file is reported added", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    const report = await store.reconcile();
    expect(counts(report)).toEqual({ scanned: 5, added: 5, updated: 0, removed: 0, unchanged: 0, invalid: 0 });
  });

  it("first reconcile after a lookup: every file is reported added", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    store.resolve("s1");
    const report = await store.reconcile();
    expect(counts(report)).toEqual({ scanned: 5, added: 5, updated: 0, removed: 0, unchanged: 0, invalid: 0 });
  });

  it("after files are added and removed with the store open: added and removed are counted", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    await store.reconcile();
    store.resolve("s1");
    writeState(root, { containerId: "s7", status: "created" });
    removeContainer(root, "c1", "s1");
    const report = await store.reconcile();
    expect(counts(report)).toEqual({ scanned: 5, added: 1, updated: 0, removed: 1, unchanged: 4, invalid: 0 });
  });

  it("after files are added and removed while no store was open: added and removed are counted", async () => {
    const root = sampleRoot();
    const first = openStore({ root });
    await first.reconcile();
    first.close();
    writeState(root, { containerId: "s7", status: "created" });
    removeContainer(root, "c1", "s1");
    const store = track(openStore({ root }));
    const report = await store.reconcile();
    expect(counts(report)).toEqual({ scanned: 5, added: 1, updated: 0, removed: 1, unchanged: 4, invalid: 0 });
  });

  it("after files are added and removed with the store open: the index matches the files", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    await store.reconcile();
    store.resolve("s1");
    writeState(root, { containerId: "s7", status: "created" });
    removeContainer(root, "c1", "s1");
    const report = await store.reconcile();
    expect(report.scanned).toBe(5);
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });

  it("a full reconcile through the store says so and matches the files", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    const report = await store.reconcile({ full: true });
    expect(report.full).toBe(true);
    expect(report.scanned).toBe(5);
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });
});

describe("reconcile: files that vanish mid-scan", () => {
  function bigRoot(n: number): string {
    const root = makeRoot();
    for (let i = 0; i < n; i++) writeState(root, { containerId: `v${String(i).padStart(5, "0")}`, status: "stopped" });
    age(root);
    return root;
  }

  it.each([true, false])("are not errors and get no row (full: %s)", async (full) => {
    const root = bigRoot(1_200);
    const index = openIndex(root);
    const vanished: string[] = [];
    const report = await reconcile(root, index, {
      full,
      onProgress: () => {
        // After the first batch: remove files the pass has listed but not read yet.
        if (vanished.length > 0) return;
        for (let i = 1_100; i < 1_150; i++) {
          const id = `v${String(i).padStart(5, "0")}`;
          fs.rmSync(statePath(root, id, id));
          vanished.push(id);
        }
      },
    });
    expect(vanished).toHaveLength(50);
    expect(report.invalid).toBe(0);
    expect(report.scanned).toBe(1_200);
    const ids = new Set(rowsOf(root).map((r) => r.container_id));
    expect(ids.size).toBe(1_150);
    for (const id of vanished) expect(ids.has(id)).toBe(false);
    expect(invalidOf(root)).toEqual([]);
    expect(withoutState(rowsOf(root))).toEqual(expectedRows(root));
  });
});

describe("reconcile: invalid files", () => {
  const VALID = ["ok1", "ok2"];

  /** A root with two good files and a zoo of bad ones; returns the bad ones' paths. */
  function zoo(): { root: string; bad: Map<string, RegExp> } {
    const root = makeRoot();
    for (const id of VALID) writeState(root, { containerId: id, status: "created" });
    const bad = new Map<string, RegExp>();
    const put = (name: string, content: string | Buffer, reason: RegExp) => {
      fs.writeFileSync(path.join(root, name), content, { mode: 0o640 });
      bad.set(name, reason);
    };
    const full = stateText({ containerId: "torn" });
    put("garbage_sandbox:garbage.state", crypto.randomBytes(300), /JSON|UTF-8/);
    put("empty_sandbox:empty.state", "", /empty/);
    put("torn_sandbox:torn.state", full.slice(0, full.length / 2), /JSON/);
    // Invalid UTF-8 reads as U+FFFD, as Go reads it (issue 9): this file is then a key without a value.
    put("notutf8_sandbox:notutf8.state", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /JSON/);
    put("array_sandbox:array.state", "[]", /object/);
    put("badstatus_sandbox:badstatus.state", stateText({ containerId: "badstatus", status: "exploded" }), /status/);
    put(
      "nullsb_sandbox:nullsb.state",
      stateText({ containerId: "nullsb", edit: (d) => (d.sandbox = null) }),
      /sandbox/,
    );
    put(
      "strpid_sandbox:strpid.state",
      stateText({ containerId: "strpid", edit: (d) => (d.sandbox.pid = "12") }),
      /pid/,
    );
    put("mismatch_sandbox:mismatch.state", stateText({ containerId: "other" }), /match/);
    // Names that end like state files but do not parse.
    put("bad!id_sandbox:s1.state", stateText({ containerId: "s1" }), /name/);
    put("a,b_sandbox:s1.state", stateText({ containerId: "s1" }), /name/);
    put(".._sandbox:s1.state", stateText({ containerId: "s1" }), /name/);
    put("_sandbox:s1.state", stateText({ containerId: "s1" }), /name/);
    put("c9_sandbox:.state", stateText({ containerId: "c9" }), /name/);
    // Not regular files.
    fs.mkdirSync(path.join(root, "dir_sandbox:dir.state"));
    bad.set("dir_sandbox:dir.state", /regular file/);
    fs.symlinkSync(statePath(root, "ok1", "ok1"), path.join(root, "link_sandbox:link.state"));
    bad.set("link_sandbox:link.state", /symbolic link/);
    const fifo = spawnSync("mkfifo", [path.join(root, "fifo_sandbox:fifo.state")]);
    expect(fifo.status).toBe(0);
    bad.set("fifo_sandbox:fifo.state", /regular file/);
    age(root);
    return { root, bad };
  }

  /** A fingerprint of a directory entry without following symlinks or opening FIFOs. */
  function fingerprint(file: string): string {
    const st = fs.lstatSync(file, { bigint: true });
    const content = st.isFile()
      ? sha256(file)
      : st.isSymbolicLink()
        ? fs.readlinkSync(file)
        : st.isDirectory()
          ? fs.readdirSync(file).join(",")
          : "";
    return `${st.mode}:${st.ino}:${st.size}:${st.mtimeNs}:${content}`;
  }

  it("go to invalid_files with a reason, are never modified, and the good files are still indexed", async () => {
    const { root, bad } = zoo();
    const before = new Map([...bad.keys()].map((n) => [n, fingerprint(path.join(root, n))]));
    const report = await reconcile(root, openIndex(root), { lockTimeoutMs: 5_000 });
    expect(report.scanned).toBeGreaterThanOrEqual(2);
    expect(report.invalid).toBe(bad.size);
    expect(report.invalidFiles.map((f) => f.name).sort()).toEqual([...bad.keys()].sort());
    const recorded = invalidOf(root);
    expect(recorded.map((r) => r.name).sort()).toEqual([...bad.keys()].sort());
    for (const { name, reason } of recorded) expect(reason, name).toMatch(bad.get(name)!);
    for (const [name, fp] of before) expect(fingerprint(path.join(root, name)), name).toBe(fp);
    const good = rowsOf(root).filter((r) => r.status !== null);
    expect(good.map((r) => r.container_id)).toEqual(VALID);
  });

  it("a full pass reports the same invalid files and still modifies none", async () => {
    const { root, bad } = zoo();
    const before = new Map([...bad.keys()].map((n) => [n, fingerprint(path.join(root, n))]));
    const index = openIndex(root);
    await reconcile(root, index);
    const report = await reconcile(root, index, { full: true });
    expect(report.invalidFiles.map((f) => f.name).sort()).toEqual([...bad.keys()].sort());
    for (const [name, fp] of before) expect(fingerprint(path.join(root, name)), name).toBe(fp);
  });

  // BUG (src/reconcile/reconcile.ts, reconcile): an unchanged invalid file is not re-read by an
  // incremental pass (its row has the file's stat), so it is not in the `invalid` map, and
  // keepOnlyInvalid() then deletes its invalid_files row; the report says invalid 0. Fix: carry
  // forward invalid_files rows for names that are still present and unchanged (or re-read rows
  // whose status is NULL).
  it("a second incremental pass still reports files that are still invalid", async () => {
    const { root, bad } = zoo();
    const index = openIndex(root);
    await reconcile(root, index);
    const report = await reconcile(root, index);
    expect(report.invalid).toBe(bad.size);
    expect(
      invalidOf(root)
        .map((r) => r.name)
        .sort(),
    ).toEqual([...bad.keys()].sort());
  });

  it("a fixed file leaves invalid_files and is indexed; a removed one leaves invalid_files", async () => {
    const { root } = zoo();
    const index = openIndex(root);
    await reconcile(root, index);
    writeInPlace(path.join(root, "torn_sandbox:torn.state"), stateText({ containerId: "torn", status: "paused" }));
    fs.rmSync(path.join(root, "garbage_sandbox:garbage.state"));
    await reconcile(root, index, { full: true });
    const names = invalidOf(root).map((r) => r.name);
    expect(names).not.toContain("torn_sandbox:torn.state");
    expect(names).not.toContain("garbage_sandbox:garbage.state");
    expect(rowsOf(root).find((r) => r.container_id === "torn")!.status).toBe("paused");
    expect(rowsOf(root).find((r) => r.container_id === "garbage")).toBeUndefined();
  });

  it("invalid files do not show up in list, and do not stop it", async () => {
    const { root } = zoo();
    const store = track(openStore({ root }));
    await store.reconcile();
    expect((await store.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(VALID);
  });
});

describe("reconcile: a file torn by a foreign writer that holds its lock", () => {
  it.each([
    ["truncated to nothing", (_t: string) => ""],
    ["half written", (t: string) => t.slice(0, Math.floor(t.length / 2))],
  ])("%s while locked, then completed: the index ends up with the complete content", async (_what, torn) => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    await store.reconcile();
    const file = statePath(root, "c1", "s1");
    const next = stateText({ containerId: "c1", sandboxId: "s1", status: "paused", pid: 7777, rootDir: root });

    const holder = await holdForeignLock(lockPath(root, "c1", "s1"));
    writeInPlace(file, torn(next));
    const progress: [number, number][] = [];
    let settled = false;
    const pass = store.reconcile({ onProgress: (done, total) => progress.push([done, total]) });
    pass.finally(() => {
      settled = true;
    });
    // The pass has read the torn file once it reports progress; it must then wait for the lock.
    await waitUntil("the pass read the torn file", () => progress.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    expect(isLockFree(lockPath(root, "c1", "s1"))).toBe(false);

    writeInPlace(file, next); // the writer finishes...
    await holder.kill(); // ...and unlocks
    const report = await pass;
    expect(report.invalid).toBe(0);
    expect(report.invalidFiles).toEqual([]);
    expect(rowsOf(root).find((r) => r.container_id === "c1")).toMatchObject({ status: "paused", pid: 7777 });
    expect(invalidOf(root)).toEqual([]);
    expect(fs.readFileSync(file, "utf8")).toBe(next);
  });

  it("a file still torn when the lock wait times out is reported invalid, naming the lock, and left alone", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root, lockTimeoutMs: 150 }));
    await store.reconcile();
    const file = statePath(root, "c2", "s1");
    await holdForeignLock(lockPath(root, "c2", "s1"));
    writeInPlace(file, "");
    const report = await store.reconcile();
    expect(report.invalidFiles).toEqual([
      { name: "c2_sandbox:s1.state", reason: expect.stringMatching(/lock.*timed out|timed out/) },
    ]);
    expect(fs.readFileSync(file, "utf8")).toBe("");
  });
});

describe("reconcile: options", () => {
  it("withState fills the state column with each file's exact text", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index, { withState: true });
    const rows = rowsOf(root);
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r.state).toBe(fs.readFileSync(statePath(root, r.container_id, r.sandbox_id), "utf8"));
  });

  it("without withState the state column stays NULL", async () => {
    const root = sampleRoot();
    await reconcile(root, openIndex(root), { full: true });
    expect(rowsOf(root).map((r) => r.state)).toEqual([null, null, null, null, null]);
  });

  it("a state column never keeps the text of a file that has since changed", async () => {
    const root = sampleRoot();
    const index = openIndex(root);
    await reconcile(root, index, { withState: true });
    const file = statePath(root, "c2", "s1");
    writeInPlace(file, stateText({ containerId: "c2", sandboxId: "s1", status: "paused", rootDir: root }));
    await reconcile(root, index);
    const state = rowsOf(root).find((r) => r.container_id === "c2")!.state;
    expect([null, fs.readFileSync(file, "utf8")]).toContain(state);
  });

  it("withState through the store fills the column", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    await store.reconcile({ full: true, withState: true });
    const q = await store.query("SELECT count(*) AS n FROM containers WHERE state IS NOT NULL AND json_valid(state)");
    expect(q.rows).toEqual([{ n: 5 }]);
  });

  it("onProgress is called with (done, total), done never past total, ending at (scanned, scanned)", async () => {
    const root = makeRoot();
    for (let i = 0; i < 1_100; i++) writeState(root, { containerId: `p${i}`, status: "stopped" });
    const calls: [number, number][] = [];
    const report = await reconcile(root, openIndex(root), { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
    expect(calls.at(-1)).toEqual([report.scanned, report.scanned]);
  });

  // BUG (src/reconcile/reconcile.ts, makeApplier): the total passed while reading is indexed.size
  // (rows in the index before the pass), not the number of files being read, so on a new index every
  // call reads (done, done): a progress bar shows 100% from the first batch.
  it("onProgress keeps the same total from the first call to the last", async () => {
    const root = makeRoot();
    for (let i = 0; i < 1_100; i++) writeState(root, { containerId: `p${i}`, status: "stopped" });
    const calls: [number, number][] = [];
    await reconcile(root, openIndex(root), { full: true, onProgress: (d, t) => calls.push([d, t]) });
    expect(new Set(calls.map(([, t]) => t))).toEqual(new Set([1_100]));
  });

  it("onProgress through the store reaches (scanned, scanned)", async () => {
    const root = sampleRoot();
    const store = track(openStore({ root }));
    const calls: [number, number][] = [];
    const report = await store.reconcile({ full: true, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.at(-1)).toEqual([report.scanned, report.scanned]);
  });

  it("reconcile of a root that does not exist yet finds nothing and fails nothing", async () => {
    const parent = makeRoot();
    const root = path.join(parent, "not-yet");
    const store = track(openStore({ root, index: path.join(parent, "index.db") }));
    const report = await store.reconcile();
    expect(counts(report)).toEqual({ scanned: 0, added: 0, updated: 0, removed: 0, unchanged: 0, invalid: 0 });
  });
});
