/**
 * Index faults: the index deleted, truncated, overwritten with garbage, made
 * by a newer schema, or held by another writer past the busy timeout. The
 * state files are the truth: a damaged index is rebuilt to equal a fresh
 * one, a newer one is refused and left alone, a locked one never stops a
 * write to a state file, and no state file changes that nobody wrote.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { BUSY_TIMEOUT_MS } from "../../src/index/database.js";
import { INDEX_DIR, openStore, RunscIndexError, type Store } from "../../src/index.js";
import { killSpawned } from "../helpers/foreign.js";
import { makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";
import { freshRebuild, garbage, indexContents, snapshotDir, spawnWorker, stateNames } from "./support.js";

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await killSpawned();
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

const EXTRA = ["abc", "abd", "xyz"];

/** A root with the fixtures and three more containers, its index built and closed. */
async function rootWithIndex(): Promise<{ root: string; db: string }> {
  const root = makeRoot({ fixtures: true });
  for (const id of EXTRA) {
    writeState(root, { containerId: id, status: "created" });
    fs.writeFileSync(path.join(root, `${id}_sandbox:${id}.lock`), "", { mode: 0o600 });
  }
  const store = openStore({ root });
  await store.reconcile({ full: true });
  store.close();
  return { root, db: path.join(root, INDEX_DIR, "index.db") };
}

/** stateFiles hashes every state and lock file: an index fault must not change one. */
const stateFiles = (root: string) => snapshotDir(root, [INDEX_DIR]);

/** The answers that show the index describes the files: lookups, listing, and equality with a rebuild. */
async function expectCorrect(store: Store, root: string): Promise<void> {
  expect(store.resolve("abc")).toEqual({ containerId: "abc", sandboxId: "abc" });
  expect(() => store.resolve("ab")).toThrow(expect.objectContaining({ code: "ERR_AMBIGUOUS_ID" }));
  expect((await store.list({ skipCheck: true })).length).toBe(stateNames(root).length);
  expect(await indexContents(store)).toEqual(await freshRebuild(root));
}

/** Garbage over every page but the first: the schema still reads, the tables do not. */
function garbageAfterFirstPage(db: string): void {
  const size = fs.statSync(db).size;
  const fd = fs.openSync(db, "r+");
  fs.writeSync(fd, garbage(size - 4096, 11), 0, size - 4096, 4096);
  fs.closeSync(fd);
}

const DAMAGE: [string, (db: string) => void][] = [
  ["deleted", (db) => fs.rmSync(db)],
  ["deleted with its directory", (db) => fs.rmSync(path.dirname(db), { recursive: true })],
  ["truncated to 0 bytes", (db) => fs.truncateSync(db, 0)],
  ["truncated inside the header (50 bytes)", (db) => fs.truncateSync(db, 50)],
  ["truncated to its first page", (db) => fs.truncateSync(db, 4096)],
  ["truncated to half", (db) => fs.truncateSync(db, Math.floor(fs.statSync(db).size / 2))],
  ["overwritten with garbage", (db) => fs.writeFileSync(db, garbage(fs.statSync(db).size, 7))],
  ["overwritten with text", (db) => fs.writeFileSync(db, "this is not a database\n")],
  ["a garbage -wal file beside it", (db) => fs.writeFileSync(`${db}-wal`, garbage(64 * 1024, 13))],
];

describe("index faults: a damaged index is rebuilt from the files", () => {
  it.each(DAMAGE)("index %s: openStore rebuilds it, answers are right, no state file changes", async (_, damage) => {
    const { root, db } = await rootWithIndex();
    const files = stateFiles(root);
    damage(db);
    const store = track(openStore({ root }));
    await expectCorrect(store, root);
    expect(stateFiles(root)).toEqual(files);
  });

  // BUG (src/index/database.ts, openIndexDatabase; and every later read): corruption past page 1 is not seen
  // at open (only sqlite_schema is read), so the index is kept, and list/query/resolve then throw a raw
  // SqliteError "database disk image is malformed" (SQLITE_CORRUPT) instead of rebuilding from the files.
  it("index with garbage after its first page: the store rebuilds it, answers are right", async () => {
    const { root, db } = await rootWithIndex();
    const files = stateFiles(root);
    garbageAfterFirstPage(db);
    const store = track(openStore({ root }));
    await expectCorrect(store, root);
    expect(stateFiles(root)).toEqual(files);
  });

  it("index deleted while a store has it open: a new process rebuilds it, both answer right", async () => {
    const { root, db } = await rootWithIndex();
    const first = track(openStore({ root }));
    expect(first.resolve("xyz").containerId).toBe("xyz");
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(db + suffix, { force: true });
    const second = track(openStore({ root }));
    await expectCorrect(second, root);
    writeState(root, { containerId: "new1" });
    expect(first.resolve("new1").containerId).toBe("new1");
    expect(second.resolve("new1").containerId).toBe("new1");
  });
});

describe("index faults: an index from a newer schema", () => {
  it("is refused with ERR_INDEX_SCHEMA naming both versions, and not changed at all", async () => {
    const { root, db } = await rootWithIndex();
    const raw = new Database(db);
    const ours = raw.pragma("user_version", { simple: true }) as number;
    raw.pragma(`user_version = ${ours + 1}`);
    raw.close();
    const indexDir = snapshotDir(path.dirname(db));
    const files = stateFiles(root);
    let error: unknown;
    try {
      track(openStore({ root }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunscIndexError);
    expect(error).toMatchObject({ code: "ERR_INDEX_SCHEMA" });
    expect((error as Error).message).toContain(String(ours + 1));
    expect((error as Error).message).toContain(String(ours));
    expect((error as Error).message).toContain(db);
    expect(snapshotDir(path.dirname(db))).toEqual(indexDir);
    expect(stateFiles(root)).toEqual(files);
  });
});

describe("index faults: another writer holds the index past the busy timeout", () => {
  it("update still writes the state file, marks the index dirty, and the next list repairs it", {
    timeout: 60_000,
  }, async () => {
    const { root, db } = await rootWithIndex();
    const store = track(openStore({ root }));
    expect(store.resolve("abc").containerId).toBe("abc");
    const before = stateFiles(root);
    const target = path.basename(statePath(root, "abc", "abc"));

    const release = path.join(makeTempDir("release"), "release");
    const holder = spawnWorker("hold-index.ts", [db, release]);
    await holder.line((l) => l === "locked");
    const started = Date.now();
    const updated = await store.update("abc", (doc) => doc.set(["spec", "annotations", "test.marker"], "written"));
    // It did wait for the index (at least one busy timeout) before writing without it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 50);
    expect(updated.fields.annotations["test.marker"]).toBe("written");

    // The file is the truth: written while the index could not be.
    const text = fs.readFileSync(statePath(root, "abc", "abc"), "utf8");
    expect(JSON.parse(text).spec.annotations["test.marker"]).toBe("written");
    expect(fs.existsSync(path.join(path.dirname(db), "dirty"))).toBe(true);
    // Nothing else changed.
    const after = stateFiles(root);
    for (const name of Object.keys(before)) if (name !== target) expect(after[name]).toBe(before[name]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());

    fs.writeFileSync(release, "");
    await holder.line((l) => l === "released");
    // The next list repairs the index, and clears the marker.
    const listed = await store.list({ skipCheck: true });
    expect(listed.find((c) => c.containerId === "abc")?.annotationsJson).toContain('"test.marker":"written"');
    expect(fs.existsSync(path.join(path.dirname(db), "dirty"))).toBe(false);
    await expectCorrect(store, root);
  });

  it("a store opened in another process while the index is held answers lookups from the files", {
    timeout: 60_000,
  }, async () => {
    const { root, db } = await rootWithIndex();
    writeState(root, { containerId: "late" });
    const release = path.join(makeTempDir("release"), "release");
    const holder = spawnWorker("hold-index.ts", [db, release]);
    await holder.line((l) => l === "locked");
    const store = track(openStore({ root }));
    expect(store.resolve("late")).toEqual({ containerId: "late", sandboxId: "late" });
    expect(() => store.resolve("ab")).toThrow(expect.objectContaining({ code: "ERR_AMBIGUOUS_ID" }));
    fs.writeFileSync(release, "");
    await holder.line((l) => l === "released");
    await expectCorrect(store, root);
  });
});
