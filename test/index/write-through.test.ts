import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { INDEX_DIR, openStore, StateDocument, type Store } from "../../src/index.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, stateObject, statePath } from "../helpers/roots.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

const stores: Store[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await Promise.all(children.splice(0).map(killChild));
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** indexRow reads one container's row straight from the index file, as any other process could. */
function indexRow(root: string, cid: string, sid = cid, columns = "status, pid, file_size, file_ino, pending") {
  const db = new Database(path.join(root, INDEX_DIR, "index.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT ${columns} FROM containers WHERE container_id = ? AND sandbox_id = ?`).get(cid, sid) as
      | Record<string, unknown>
      | undefined;
  } finally {
    db.close();
  }
}

function docFor(root: string, containerId: string, status = "created"): StateDocument {
  return StateDocument.from(stateObject({ containerId, status, rootDir: root }));
}

describe("write-through: the index is updated by the write itself", () => {
  it("after create, the index row exists with the new file's size and inode, no reconcile needed", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "wt1", "created"));
    const st = fs.statSync(statePath(root, "wt1", "wt1"), { bigint: true });
    expect(indexRow(root, "wt1")).toEqual({
      status: "created",
      pid: 412345,
      file_size: Number(st.size),
      file_ino: Number(st.ino),
      pending: 0,
    });
  });

  it("after update, the row has the new status and the inode of the renamed-in file", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "wt2", "created"));
    const before = fs.statSync(statePath(root, "wt2", "wt2")).ino;
    await store.update("wt2", (doc) => {
      doc.status = "paused";
    });
    const st = fs.statSync(statePath(root, "wt2", "wt2"), { bigint: true });
    expect(Number(st.ino)).not.toBe(before);
    expect(indexRow(root, "wt2")).toMatchObject({
      status: "paused",
      file_ino: Number(st.ino),
      file_size: Number(st.size),
    });
  });

  it("after destroy, the row, the state file and the lock file are gone", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "wt3"));
    await store.destroy("wt3");
    expect(indexRow(root, "wt3")).toBeUndefined();
    expect(fs.existsSync(statePath(root, "wt3", "wt3"))).toBe(false);
    expect(fs.existsSync(lockPath(root, "wt3", "wt3"))).toBe(false);
  });

  it("after save of a loaded document, the row has the saved status", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "wt4", "created"));
    const loaded = await store.load("wt4", { skipCheck: true });
    loaded.document.status = "running";
    await store.save(loaded.document);
    expect(indexRow(root, "wt4")).toMatchObject({ status: "running" });
  });

  it("a load refreshes a racily indexed row, then leaves a row that holds its file untouched", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "wt5", "created"));
    const indexedAt = () => indexRow(root, "wt5", "wt5", "indexed_at")?.indexed_at as number;
    const written = indexedAt();
    // Indexed by the write itself, within RACY_MS of the file's mtime: a later read re-indexes it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.load("wt5", { skipCheck: true });
    const refreshed = indexedAt();
    expect(refreshed).toBeGreaterThan(written);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.load("wt5", { skipCheck: true });
    expect(indexedAt()).toBe(refreshed);
  });
});

describe("write-through: a second store on the same root sees the change on its next call", () => {
  it("in process, with its own index connection: create, update, destroy", async () => {
    const root = makeRoot();
    const a = track(openStore({ root }));
    const b = track(openStore({ root }));
    expect(() => b.resolve("shared")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));

    await a.create(docFor(root, "shared-1", "created"));
    expect(b.resolve("shared").containerId).toBe("shared-1");
    expect((await b.list({ fresh: false, skipCheck: true })).map((c) => [c.containerId, c.status])).toEqual([
      ["shared-1", "created"],
    ]);

    await a.update("shared-1", (doc) => {
      doc.status = "paused";
    });
    expect((await b.list({ fresh: false, skipCheck: true })).map((c) => c.status)).toEqual(["paused"]);
    expect((await b.list({ skipCheck: true })).map((c) => c.status)).toEqual(["paused"]);
    const q = await b.query("SELECT status FROM containers WHERE container_id = ?", ["shared-1"]);
    expect(q.rows).toEqual([{ status: "paused" }]);

    await a.destroy("shared-1");
    expect(() => b.resolve("shared")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
    expect(await b.list({ fresh: false })).toEqual([]);
    expect(b.listSandboxes()).toEqual([]);
  });

  it("in another process: a child store sees create, update and destroy on its next call", async () => {
    const root = makeRoot();
    const a = track(openStore({ root }));
    const child = startStoreChild(root);

    expect(await child.ask({ op: "resolve", id: "xp" })).toEqual({ error: "ERR_NOT_FOUND" });
    await a.create(docFor(root, "xp-1", "created"));
    expect(await child.ask({ op: "resolve", id: "xp" })).toEqual({ containerId: "xp-1", sandboxId: "xp-1" });
    expect(await child.ask({ op: "list" })).toEqual([["xp-1", "created"]]);

    await a.update("xp-1", (doc) => {
      doc.status = "running";
    });
    expect(await child.ask({ op: "list" })).toEqual([["xp-1", "running"]]);

    await a.destroy("xp-1");
    expect(await child.ask({ op: "resolve", id: "xp" })).toEqual({ error: "ERR_NOT_FOUND" });
    expect(await child.ask({ op: "list" })).toEqual([]);
  });

  it("a write by the child process is seen by this process's store", async () => {
    const root = makeRoot();
    const a = track(openStore({ root }));
    expect(() => a.resolve("cw")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
    const child = startStoreChild(root);
    expect(await child.ask({ op: "create", id: "cw-1", status: "created" })).toEqual({ ok: true });
    expect(a.resolve("cw").containerId).toBe("cw-1");
    expect(await child.ask({ op: "update", id: "cw-1", status: "paused" })).toEqual({ ok: true });
    expect((await a.list({ fresh: false, skipCheck: true })).map((c) => c.status)).toEqual(["paused"]);
    expect(await child.ask({ op: "destroy", id: "cw-1" })).toEqual({ ok: true });
    expect(() => a.resolve("cw")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
  });
});

describe("write-through: the index is updated while the file lock is held", () => {
  it("whoever takes the lock after a write finds the index already matching the file", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    await store.create(docFor(root, "held", "running"));
    const scratch = makeTempDir("held-checker");
    const stopFile = path.join(scratch, "stop");
    const checker = startLockChecker({
      lock: lockPath(root, "held", "held"),
      state: statePath(root, "held", "held"),
      index: path.join(root, INDEX_DIR, "index.db"),
      id: "held",
      stopFile,
      scratch,
    });
    await checker.ready;
    // At least 80 writes, and on until the checker has looked at least 20 times between them.
    for (let i = 0; i < 80 || (checker.observations() < 20 && i < 5_000); i++) {
      await store.update("held", (doc) => {
        // running <-> paused also changes the file's size.
        doc.status = i % 2 === 0 ? "paused" : "running";
      });
      await new Promise(setImmediate); // read the checker's output
    }
    fs.writeFileSync(stopFile, "");
    const report = await checker.result;
    expect(report.mismatches).toEqual([]);
    expect(report.observations).toBeGreaterThanOrEqual(20);
    // The checker saw both versions of the file, so it looked in between our writes.
    expect(report.statusesSeen).toEqual(["paused", "running"]);
  });
});

// --- child processes ---

interface StoreChild {
  ask(command: Record<string, unknown>): Promise<unknown>;
}

/**
 * startStoreChild runs a store in another Node process (our TypeScript through tsx)
 * that answers one JSON command per stdin line with one JSON line.
 */
function startStoreChild(root: string): StoreChild {
  const script = path.join(makeTempDir("store-child"), "child.mts");
  const src = new URL("../../src/index.ts", import.meta.url).href;
  const fixtureHelpers = new URL("../helpers/roots.ts", import.meta.url).href;
  fs.writeFileSync(
    script,
    `
import readline from "node:readline";
import { openStore, StateDocument } from ${JSON.stringify(src)};
import { stateObject } from ${JSON.stringify(fixtureHelpers)};
const store = openStore({ root: ${JSON.stringify(root)} });
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const cmd = JSON.parse(line);
  let out;
  try {
    if (cmd.op === "resolve") out = store.resolve(cmd.id);
    else if (cmd.op === "list") out = (await store.list({ skipCheck: true })).map((c) => [c.containerId, c.status]);
    else if (cmd.op === "create") { await store.create(StateDocument.from(stateObject({ containerId: cmd.id, status: cmd.status, rootDir: ${JSON.stringify(root)} }))); out = { ok: true }; }
    else if (cmd.op === "update") { await store.update(cmd.id, (d) => { d.status = cmd.status; }); out = { ok: true }; }
    else if (cmd.op === "destroy") { await store.destroy(cmd.id); out = { ok: true }; }
  } catch (e) {
    out = { error: e.code ?? String(e) };
  }
  process.stdout.write(JSON.stringify(out) + "\\n");
}
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async ask(command) {
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      const next = await lines.next();
      if (next.done) throw new Error(`store child exited: ${stderr}`);
      return JSON.parse(next.value);
    },
  };
}

interface CheckerReport {
  observations: number;
  mismatches: unknown[];
  statusesSeen: string[];
}

/**
 * startLockChecker runs a plain Node process that, like any other runsc-index
 * user, takes the container's flock(2) (blocking, through koffi, not our lock
 * code), then compares the state file with the index row, releases, and
 * repeats until stopFile appears.
 */
function startLockChecker(opts: {
  lock: string;
  state: string;
  index: string;
  id: string;
  stopFile: string;
  scratch: string;
}): { ready: Promise<void>; observations: () => number; result: Promise<CheckerReport> } {
  const script = path.join(opts.scratch, "checker.mjs");
  fs.writeFileSync(
    script,
    `
import fs from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(${JSON.stringify(path.join(REPO, "package.json"))});
const koffi = require("koffi");
const Database = require("better-sqlite3");
const libc = koffi.load("libc.so.6");
const flock = libc.func("int flock(int, int)");
const LOCK_EX = 2, LOCK_UN = 8;
const o = ${JSON.stringify(opts)};
const db = new Database(o.index, { readonly: true });
const row = db.prepare("SELECT status, file_ino AS ino, file_size AS size FROM containers WHERE container_id = ? AND sandbox_id = ?");
const pause = new Int32Array(new SharedArrayBuffer(4));
let observations = 0;
const mismatches = [];
const seen = new Set();
for (;;) {
  const fd = fs.openSync(o.lock, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o600);
  if (flock(fd, LOCK_EX) !== 0) throw new Error("flock failed");
  try {
    const text = fs.readFileSync(o.state, "utf8");
    const st = fs.statSync(o.state);
    const r = row.get(o.id, o.id);
    const status = JSON.parse(text).status;
    seen.add(status);
    observations++;
    if (!r || r.status !== status || r.ino !== st.ino || r.size !== st.size) {
      mismatches.push({ file: { status, ino: st.ino, size: st.size }, row: r ?? null });
    }
  } finally {
    flock(fd, LOCK_UN);
    fs.closeSync(fd);
  }
  process.stdout.write("seen\\n");
  if (fs.existsSync(o.stopFile)) break;
  Atomics.wait(pause, 0, 0, 3); // let the writer in; the next flock blocks until it is done
}
process.stdout.write(JSON.stringify({ observations, mismatches, statusesSeen: [...seen].sort() }) + "\\n");
`,
  );
  const child = spawn(process.execPath, [script], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      stdout += d;
      if (stdout.startsWith("seen\n")) resolve();
    });
    child.once("exit", () => reject(new Error(`checker exited before it was ready: ${stderr}`)));
  });
  ready.catch(() => {});
  const result = new Promise<CheckerReport>((resolve, reject) => {
    // "close" comes after the last stdout data.
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`checker failed (${code}): ${stderr}`));
      resolve(JSON.parse(stdout.split("\n").filter(Boolean).pop()!));
    });
  });
  const observations = () => stdout.split("\n").filter((l) => l === "seen").length;
  return { ready, observations, result };
}
