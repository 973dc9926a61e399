/**
 * Hardening (issue 10), library side: one test per point, named after it.
 * Everything planted here is what someone who may write in the root or in
 * the directory of `--index` could plant: symlinks to files elsewhere, FIFOs,
 * sockets, directories and devices at the names the tool uses. Each test
 * checks that nothing outside was changed and that the error names the entry.
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";
import { TEMP_PREFIX, tempFileName, tempTag } from "../../src/ids/file-names.js";
import type { ContainerId, SandboxId } from "../../src/ids/id.js";
import { APPLICATION_ID } from "../../src/index/index-file.js";
import { INDEX_DIR, openStore, type Store } from "../../src/index.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

function sha(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

async function thrown(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("expected an error");
}

function mkfifo(file: string): void {
  expect(spawnSync("mkfifo", ["-m", "0600", file]).status).toBe(0);
}

function mksocket(file: string): void {
  const py = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])";
  expect(spawnSync("python3", ["-c", py, file]).status).toBe(0);
}

/** An outside file someone wants us to overwrite: a sentinel with known bytes. */
function outsideFile(): string {
  const file = path.join(makeTempDir("outside"), "secret");
  fs.writeFileSync(file, "do not touch\n", { mode: 0o644 });
  return file;
}

/** The name the store's next temporary file for these IDs gets (pid and counter are predictable). */
function nextTempName(cid: string, sid: string): string {
  const probe = tempFileName(cid as ContainerId, sid as SandboxId);
  const counter = Number(probe.slice(TEMP_PREFIX.length).split(".")[1]);
  return `${TEMP_PREFIX}${process.pid}.${counter + 1}.${tempTag(cid as ContainerId, sid as SandboxId)}`;
}

/** A root with one container "c1" (state and lock file) and its index built. */
async function rootWithContainer(): Promise<string> {
  const root = makeRoot();
  writeState(root, { containerId: "c1", status: "stopped" });
  fs.writeFileSync(lockPath(root, "c1", "c1"), "", { mode: 0o600 });
  const store = openStore({ root });
  await store.reconcile();
  store.close();
  return root;
}

describe("hardening: nothing outside the root or the index is written, deleted or re-moded", () => {
  it("--index naming a file that is not a runsc-index database (or an index.db / .runsc-index symlink) is refused and left byte-for-byte unchanged with its -wal/-shm/-journal siblings", async () => {
    const root = await rootWithContainer();
    const dir = makeTempDir("foreign");
    // Another program's SQLite database, in WAL mode with its -wal and -shm live (copied while open).
    const live = path.join(makeTempDir("live"), "app.db");
    const app = new Database(live);
    app.pragma("journal_mode = WAL");
    app.exec("CREATE TABLE secrets (v); INSERT INTO secrets VALUES ('DB_PASSWORD=x')");
    const foreignDb = path.join(dir, "app.db");
    for (const s of ["", "-wal", "-shm"]) fs.copyFileSync(live + s, foreignDb + s);
    app.close();
    // A file that is not SQLite at all, with sibling files of garbage.
    const text = path.join(dir, "notes.txt");
    fs.writeFileSync(text, "hello\n");
    for (const s of ["-wal", "-shm", "-journal"]) fs.writeFileSync(text + s, `junk ${s}\n`);
    // A SQLite database with a different application_id.
    const otherApp = path.join(dir, "other.db");
    const o = new Database(otherApp);
    o.pragma("application_id = 1234");
    o.exec("CREATE TABLE containers (x); CREATE TABLE invalid_files (x); CREATE TABLE meta (x)");
    o.close();
    const snapshot = () => Object.fromEntries(fs.readdirSync(dir).map((n) => [n, sha(path.join(dir, n))]));
    const before = snapshot();
    for (const index of [foreignDb, text, otherApp]) {
      const e = await thrown(() => track(openStore({ root, index })));
      expect(e.code).toBe("ERR_INDEX_SCHEMA");
      expect(e.message).toContain(index);
      expect(e.message).toContain("not a runsc-index database");
    }
    expect(snapshot()).toEqual(before); // no byte changed, no .open.lock or -wal added

    // index.db in the root's own directory as a symlink to the foreign database: refused, target untouched.
    const ownIndex = path.join(root, INDEX_DIR, "index.db");
    for (const s of ["", "-wal", "-shm"]) fs.rmSync(ownIndex + s, { force: true });
    fs.symlinkSync(foreignDb, ownIndex);
    const e1 = await thrown(() => track(openStore({ root })));
    expect(e1.code).toBe("ERR_IO");
    expect(e1.message).toContain(ownIndex);
    expect(e1.message).toContain("symbolic link");
    // .runsc-index itself a symlink to the foreign directory: refused.
    fs.rmSync(path.join(root, INDEX_DIR), { recursive: true });
    fs.symlinkSync(dir, path.join(root, INDEX_DIR));
    const e2 = await thrown(() => track(openStore({ root })));
    expect(e2.code).toBe("ERR_IO");
    expect(e2.message).toContain(path.join(root, INDEX_DIR));
    expect(snapshot()).toEqual(before);
    // A symlink planted at an index's -wal (SQLite would follow it): refused before SQLite opens anything.
    const ours = path.join(makeTempDir("wal"), "index.db");
    track(openStore({ root, index: ours })).close();
    fs.symlinkSync(text, `${ours}-wal`);
    const e3 = await thrown(() => track(openStore({ root, index: ours })));
    expect(e3.code).toBe("ERR_IO");
    expect(e3.message).toContain(`${ours}-wal`);
    expect(snapshot()).toEqual(before);

    // What is ours is used: an empty file, a missing path, an index of the previous version (no application_id).
    const empty = path.join(makeTempDir("empty"), "index.db");
    fs.writeFileSync(empty, "");
    const s1 = track(openStore({ root, index: empty }));
    expect(s1.resolve("c").containerId).toBe("c1");
    const previous = path.join(makeTempDir("previous"), "index.db");
    s1.close();
    fs.copyFileSync(empty, previous);
    const p = new Database(previous);
    p.pragma("application_id = 0");
    p.close();
    const s2 = track(openStore({ root, index: previous }));
    expect(s2.resolve("c").containerId).toBe("c1");
    s2.close();
    const marked = new Database(previous, { readonly: true });
    expect(marked.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
    marked.close();
    // Garbage at the default path inside the root's own .runsc-index (ours by construction) is rebuilt.
    fs.rmSync(path.join(root, INDEX_DIR));
    fs.mkdirSync(path.join(root, INDEX_DIR), { mode: 0o700 });
    fs.writeFileSync(ownIndex, "garbage garbage garbage");
    const s3 = track(openStore({ root }));
    expect(s3.resolve("c").containerId).toBe("c1");
  });

  it("every file the tool creates (temp files, the dirty marker, lock files) is never opened through a planted symlink, FIFO, socket or directory, which is an error naming the path and is not deleted", async () => {
    const root = await rootWithContainer();
    const secret = outsideFile();
    const secretBefore = sha(secret);
    const stateBefore = sha(statePath(root, "c1", "c1"));
    const store = track(openStore({ root }));
    const plants: [string, (p: string) => void][] = [
      ["symlink", (p) => fs.symlinkSync(secret, p)],
      ["dangling symlink", (p) => fs.symlinkSync(path.join(path.dirname(secret), "new-file"), p)],
      ["FIFO", mkfifo],
      ["socket", mksocket],
      ["directory", (p) => fs.mkdirSync(p)],
    ];
    for (const [kind, plant] of plants) {
      const temp = path.join(root, nextTempName("c1", "c1"));
      plant(temp);
      const started = Date.now();
      const e = await thrown(() => store.update("c1", (doc) => doc.set(["owner"], "mallory")));
      expect(Date.now() - started, kind).toBeLessThan(10_000);
      expect(e.code, kind).toBe("ERR_IO");
      expect(e.message, kind).toContain(temp);
      expect(fs.lstatSync(temp), `${kind} is still there`).toBeDefined();
      fs.rmSync(temp, { recursive: true });
    }
    expect(sha(secret)).toBe(secretBefore);
    expect(fs.existsSync(path.join(path.dirname(secret), "new-file"))).toBe(false);
    expect(sha(statePath(root, "c1", "c1"))).toBe(stateBefore);

    // The dirty marker beside the index: a planted symlink is neither written through nor removed.
    const marker = path.join(root, INDEX_DIR, "dirty");
    fs.symlinkSync(secret, marker);
    const e = await thrown(() => store.list());
    expect(e.code).toBe("ERR_IO");
    expect(e.message).toContain(marker);
    expect(fs.lstatSync(marker).isSymbolicLink()).toBe(true);
    expect(sha(secret)).toBe(secretBefore);
  });

  it("save and update write a regular file: a symlinked state file is refused, never written through; mode and owner come from the old regular file, never set-uid/set-gid/sticky", async () => {
    const root = await rootWithContainer();
    const file = statePath(root, "c1", "c1");
    const store = track(openStore({ root }));
    const doc = (await store.load("c1", { skipCheck: true })).document;
    // Swap the state file for a symlink to a set-uid file elsewhere.
    const secret = outsideFile();
    fs.chmodSync(secret, 0o4755);
    const secretBefore = sha(secret);
    fs.renameSync(file, `${file}.real`);
    fs.symlinkSync(secret, file);
    doc.set(["owner"], "mallory");
    for (const write of [
      () => store.save(doc),
      () => store.update("c1", (d) => d.set(["owner"], "m"), { exact: true }),
    ]) {
      const e = await thrown(write);
      expect(e.code).toBe("ERR_CORRUPT_STATE");
      expect(e.message).toContain(path.basename(file));
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
      expect(sha(secret)).toBe(secretBefore);
      expect(fs.statSync(secret).mode & 0o7777).toBe(0o4755);
    }
    // A regular file with set-uid, set-gid and sticky bits and a foreign owner: owner kept, special bits dropped.
    fs.rmSync(file);
    fs.renameSync(`${file}.real`, file);
    fs.chownSync(file, 1234, 2345);
    fs.chmodSync(file, 0o7640);
    await store.update("c1", (d) => d.set(["owner"], "alice"));
    const st = fs.lstatSync(file);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([1234, 2345]);
  });

  it("lock files are opened O_NOFOLLOW|O_NONBLOCK and must be regular: a dangling .lock symlink creates nothing, a FIFO or device at a lock path is an error naming it", async () => {
    const root = await rootWithContainer();
    const lock = lockPath(root, "c1", "c1");
    const store = track(openStore({ root }));
    const target = path.join(makeTempDir("elsewhere"), "created-by-lock");
    const plants: [string, (p: string) => void][] = [
      ["dangling symlink", (p) => fs.symlinkSync(target, p)],
      ["FIFO", mkfifo],
      ["device", (p) => expect(spawnSync("mknod", ["-m", "0600", p, "c", "1", "3"]).status).toBe(0)],
      ["socket", mksocket],
      ["directory", (p) => fs.mkdirSync(p)],
    ];
    for (const [kind, plant] of plants) {
      fs.rmSync(lock, { recursive: true, force: true });
      plant(lock);
      const started = Date.now();
      const e = await thrown(() => store.load("c1"));
      expect(Date.now() - started, kind).toBeLessThan(10_000);
      expect(e.code, kind).toBe("ERR_IO");
      expect(e.message, kind).toContain(lock);
      expect(e.message, kind).toMatch(/not a regular file/);
      expect(fs.existsSync(target), kind).toBe(false);
    }
  });

  it("the index directory and files are created 0700/0600 whatever the umask; an index directory owned by another user or writable by group/others is refused; an existing index is made 0600", async () => {
    const old = process.umask(0);
    try {
      const root = await rootWithContainer();
      const dir = path.join(root, INDEX_DIR);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      for (const s of ["", "-wal", "-shm"]) {
        if (fs.existsSync(path.join(dir, `index.db${s}`))) {
          expect(fs.statSync(path.join(dir, `index.db${s}`)).mode & 0o777, s).toBe(0o600);
        }
      }
      // An explicit index outside the root: 0600, never more readable than the 0640 state files.
      const outside = path.join(makeTempDir("idx"), "index.db");
      track(openStore({ root, index: outside })).close();
      expect(fs.statSync(outside).mode & 0o777).toBe(0o600);
      // An index an older version left 0644: made 0600.
      fs.chmodSync(outside, 0o644);
      track(openStore({ root, index: outside })).close();
      expect(fs.statSync(outside).mode & 0o777).toBe(0o600);
      // Group- or world-writable, or another user's: refused, and left as it is.
      for (const [mode, uid] of [
        [0o770, 0],
        [0o707, 0],
        [0o700, 1234],
      ] as const) {
        fs.chmodSync(dir, mode);
        fs.chownSync(dir, uid, 0);
        const e = await thrown(() => track(openStore({ root })));
        expect(e.code).toBe("ERR_IO");
        expect(e.message).toContain(dir);
        expect(fs.statSync(dir).mode & 0o777).toBe(mode);
      }
    } finally {
      process.umask(old);
    }
  });
});

describe("hardening: nothing hangs, one bad entry disables nothing", () => {
  it("a socket, FIFO, directory or device named like a state, lock or temp file is reported and skipped: list, query, reconcile, doctor and prune keep working, and only documented codes come out", async () => {
    const root = await rootWithContainer();
    const specials: [string, (p: string) => void][] = [
      ["fifo", mkfifo],
      ["sock", mksocket],
      ["dir", (p) => fs.mkdirSync(p)],
      ["dev", (p) => expect(spawnSync("mknod", ["-m", "0600", p, "c", "1", "3"]).status).toBe(0)],
    ];
    for (const [kind, make] of specials) {
      make(statePath(root, `s-${kind}`, `s-${kind}`));
      make(lockPath(root, `l-${kind}`, `l-${kind}`));
      make(path.join(root, `${TEMP_PREFIX}1.1.${tempTag(`t${kind}` as ContainerId, `t${kind}` as SandboxId)}`));
    }
    const names = fs.readdirSync(root).sort();
    const store = track(openStore({ root }));
    const report = await store.reconcile({ full: true });
    expect(report.invalidFiles.map((f) => f.name).sort()).toEqual(
      specials.map(([k]) => `s-${k}_sandbox:s-${k}.state`).sort(),
    );
    for (const f of report.invalidFiles)
      expect(f.reason).toMatch(/not a regular file|a FIFO|a socket|a directory|a device/);
    expect((await store.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(["c1"]);
    expect((await store.query("SELECT count(*) AS n FROM invalid_files")).rows).toEqual([{ n: 4 }]);
    const doctor = await store.doctor();
    expect(doctor.invalidFiles).toHaveLength(4);
    expect(doctor.problems.filter((p) => p.startsWith("invalid file"))).toHaveLength(4);
    const lockAndTemp = names.filter((n) => n.startsWith(TEMP_PREFIX) || (n.startsWith("l-") && n.endsWith(".lock")));
    expect(doctor.specialFiles.map((f) => f.name).sort()).toEqual(lockAndTemp);
    expect(doctor.problems.filter((p) => p.startsWith("special file"))).toHaveLength(8);
    const pruned = await store.prune();
    expect(pruned.removed).toEqual([]);
    expect(pruned.skipped.map((s) => s.name).sort()).toEqual(lockAndTemp);
    for (const s of pruned.skipped) expect(s.reason).toMatch(/not a regular file/);
    expect(fs.readdirSync(root).sort()).toEqual(names); // nothing deleted
    // load of a special state file: a documented code naming it.
    for (const [kind] of specials) {
      const e = await thrown(() => store.load(`s-${kind}`, { exact: true }));
      expect(ERROR_CODES).toContain(e.code);
      expect(e.message).toContain(`s-${kind}`);
    }
  });

  it("a huge or deeply nested junk state file is rejected once, with the same verdict in the index, load, list and doctor, and not re-read while unchanged", async () => {
    const root = await rootWithContainer();
    const deep = statePath(root, "deep", "deep");
    fs.writeFileSync(deep, `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    const huge = statePath(root, "huge", "huge");
    fs.writeFileSync(huge, "");
    fs.truncateSync(huge, 17 * 1024 * 1024); // over MAX_STATE_BYTES, sparse
    const store = track(openStore({ root }));
    const report = await store.reconcile();
    const reasons = new Map(report.invalidFiles.map((f) => [f.name, f.reason]));
    expect(reasons.get(path.basename(deep))).toMatch(/nesting too deep/);
    expect(reasons.get(path.basename(huge))).toMatch(/over the \d+-byte limit/);
    for (const [id, file] of [
      ["deep", deep],
      ["huge", huge],
    ] as const) {
      const e = await thrown(() => store.load(id, { exact: true }));
      expect(e.code).toBe("ERR_CORRUPT_STATE");
      expect(e.message).toContain(reasons.get(path.basename(file))!.split(" at offset")[0]);
    }
    expect((await store.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(["c1"]);
    const doctor = await store.doctor();
    expect(doctor.invalidFiles.map((f) => f.name).sort()).toEqual([path.basename(deep), path.basename(huge)]);
    // Unchanged: not read again (the row keeps its indexed_at) while it stays in invalid_files.
    const readAt = async () =>
      (await store.query("SELECT container_id, indexed_at FROM containers WHERE status IS NULL ORDER BY 1")).rows;
    const first = await readAt();
    await new Promise((r) => setTimeout(r, 50));
    await store.reconcile();
    await store.list();
    expect(await readAt()).toEqual(first);
    expect((await store.query("SELECT name FROM invalid_files ORDER BY 1")).rows).toHaveLength(2);
  });
});

describe("hardening: reads have no side effects (issue 12)", () => {
  it("a readonly store never creates the root, the index directory or an index, and answers from the files", async () => {
    const base = makeTempDir("ro");
    const missing = path.join(base, "no-root");
    const store = track(openStore({ root: missing, readonly: true }));
    expect(await store.list()).toEqual([]);
    expect(() => store.resolve("x")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
    expect((await store.query("SELECT count(*) AS n FROM containers")).rows).toEqual([{ n: 0 }]);
    store.close();
    expect(fs.readdirSync(base)).toEqual([]);
    // A root without an index: answers from the files, nothing created.
    const root = makeRoot();
    writeState(root, { containerId: "r1", status: "stopped" });
    const before = fs.readdirSync(root).sort();
    const ro = track(openStore({ root, readonly: true }));
    expect(ro.resolve("r").containerId).toBe("r1");
    expect((await ro.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(["r1"]);
    expect((await ro.query("SELECT container_id FROM containers")).rows).toEqual([{ container_id: "r1" }]);
    expect((await ro.doctor()).counts.containers).toBe(1);
    ro.close();
    expect(fs.readdirSync(root).sort()).toEqual(before);
  });
});
