import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/index/database.js";
import { INDEX_DIR, openStore, RunscIndexError, type Store } from "../../src/index.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  makeRoot,
  removeTempDirs,
  writeState,
} from "../helpers/roots.js";

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

function indexPathOf(root: string): string {
  return path.join(root, INDEX_DIR, "index.db");
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** A fixture root plus `extra` more root containers (x0000, x0001, ...), with its index built and closed. */
async function rootWithBuiltIndex(extra = 0): Promise<string> {
  const root = makeRoot({ fixtures: true });
  for (let i = 0; i < extra; i++)
    writeState(root, { containerId: `x${String(i).padStart(4, "0")}`, status: "stopped" });
  const store = openStore({ root });
  await store.reconcile({ full: true, withState: true });
  store.close();
  return root;
}

/** The answers a correct index gives for the fixture root (plus `extra` x containers). */
async function expectRightAnswers(store: Store, extra = 0): Promise<void> {
  expect(store.resolve("9f").containerId).toBe(FIXTURE_ROOT_ID);
  expect(store.resolve("95").containerId).toBe(FIXTURE_SUB_ID);
  expect(() => store.resolve("9")).toThrow(expect.objectContaining({ code: "ERR_AMBIGUOUS_ID" }));
  expect(() => store.resolve("ghost")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
  if (extra > 0) expect(store.resolve(`x${String(extra - 1).padStart(4, "0")}`).sandboxId).toBeDefined();
  const listed = await store.list({ skipCheck: true });
  expect(listed).toHaveLength(2 + extra);
  const fixtures = listed.filter((c) => c.sandboxId === FIXTURE_SANDBOX_ID);
  expect(fixtures.map((c) => [c.containerId, c.status])).toEqual([
    [FIXTURE_SUB_ID, "created"],
    [FIXTURE_ROOT_ID, "running"],
  ]);
  expect(store.listSandboxes()).toHaveLength(1 + extra);
}

/** writeRawIndex builds an index file by hand with plain better-sqlite3. */
function writeRawIndex(file: string, build: (db: Database.Database) => void): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    build(db);
  } finally {
    db.close();
  }
}

function readIndex<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe("index recovery: rebuilt from the files without being asked", () => {
  it("a missing index is created and answers from the files", async () => {
    const root = makeRoot({ fixtures: true });
    expect(fs.existsSync(indexPathOf(root))).toBe(false);
    await expectRightAnswers(track(openStore({ root })));
    expect(fs.existsSync(indexPathOf(root))).toBe(true);
  });

  it("an index deleted after it was built is recreated with the right answers", async () => {
    const root = await rootWithBuiltIndex(3);
    fs.rmSync(path.join(root, INDEX_DIR), { recursive: true });
    await expectRightAnswers(track(openStore({ root })), 3);
  });

  it("an empty (0-byte) index file is rebuilt", async () => {
    const root = await rootWithBuiltIndex();
    fs.writeFileSync(indexPathOf(root), "");
    await expectRightAnswers(track(openStore({ root })));
  });

  it("an index of garbage bytes is rebuilt", async () => {
    const root = await rootWithBuiltIndex();
    fs.writeFileSync(indexPathOf(root), crypto.randomBytes(64 * 1024));
    const store = track(openStore({ root }));
    await expectRightAnswers(store);
    readIndex(indexPathOf(root), (db) => expect(db.pragma("integrity_check", { simple: true })).toBe("ok"));
  });

  it("an index whose first page is garbage but the rest intact is rebuilt", async () => {
    const root = await rootWithBuiltIndex(20);
    const fd = fs.openSync(indexPathOf(root), "r+");
    fs.writeSync(fd, crypto.randomBytes(100), 0, 100, 0);
    fs.closeSync(fd);
    await expectRightAnswers(track(openStore({ root })), 20);
  });

  it.each([0, 300])("an index truncated to half its size is rebuilt (%i extra containers)", async (extra) => {
    const root = await rootWithBuiltIndex(extra);
    const file = indexPathOf(root);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(8192);
    fs.truncateSync(file, Math.floor(size / 2));
    const store = track(openStore({ root }));
    await expectRightAnswers(store, extra);
    readIndex(file, (db) => expect(db.pragma("integrity_check", { simple: true })).toBe("ok"));
  });

  // BUG (src/index/database.ts, isUnusableIndex): drizzle's migrator wraps the SqliteError
  // "table `x` already exists" in a DrizzleError with no `code` and the SQL as its message; the
  // check looks only at the outer error, so openStore throws instead of rebuilding.
  it("an index with only some of the tables (user_version 0) is rebuilt", async () => {
    const root = makeRoot({ fixtures: true });
    writeRawIndex(indexPathOf(root), (db) => {
      db.exec("CREATE TABLE meta (key text PRIMARY KEY NOT NULL, value text NOT NULL)");
      db.exec("INSERT INTO meta VALUES ('names_mtime_ns', '0')");
    });
    await expectRightAnswers(track(openStore({ root })));
    readIndex(indexPathOf(root), (db) => expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION));
  });

  // BUG: the same DrizzleError wrapping as above.
  it("an index with every table but user_version 0 and no migration record is rebuilt", async () => {
    const root = await rootWithBuiltIndex();
    writeRawIndex(indexPathOf(root), (db) => {
      db.exec("DROP TABLE __drizzle_migrations");
      db.pragma("user_version = 0");
      // A row no file backs: a rebuilt index must not keep it.
      db.exec(
        "INSERT INTO containers (container_id, sandbox_id, status, is_root, pending) VALUES ('ghost', 'ghost', 'running', 1, 0)",
      );
    });
    await expectRightAnswers(track(openStore({ root })));
  });

  it("an index with every table and its migration record but user_version 0 gives the right answers", async () => {
    const root = await rootWithBuiltIndex();
    writeRawIndex(indexPathOf(root), (db) => db.pragma("user_version = 0"));
    await expectRightAnswers(track(openStore({ root })));
    readIndex(indexPathOf(root), (db) => expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION));
  });

  it.each(["invalid_files", "containers", "meta"])(
    "an index at the current user_version that lacks table %s is rebuilt",
    async (table) => {
      const root = await rootWithBuiltIndex();
      writeRawIndex(indexPathOf(root), (db) => {
        if (table === "containers") db.exec("DROP VIEW sandboxes");
        db.exec(`DROP TABLE ${table}`);
      });
      await expectRightAnswers(track(openStore({ root })));
      const names = readIndex(indexPathOf(root), (db) =>
        db.prepare("SELECT name FROM sqlite_schema").pluck().all(),
      ) as string[];
      expect(names).toEqual(expect.arrayContaining(["containers", "invalid_files", "meta", "sandboxes"]));
    },
  );

  it("an index at the current user_version that lacks the sandboxes view is rebuilt", async () => {
    const root = await rootWithBuiltIndex();
    writeRawIndex(indexPathOf(root), (db) => db.exec("DROP VIEW sandboxes"));
    const store = track(openStore({ root }));
    await expectRightAnswers(store);
    const result = await store.query("SELECT container_count FROM sandboxes");
    expect(result.rows).toEqual([{ container_count: 2 }]);
  });

  it("an index at the current user_version whose containers table lacks a column is rebuilt", async () => {
    const root = await rootWithBuiltIndex();
    writeRawIndex(indexPathOf(root), (db) => db.exec("ALTER TABLE containers DROP COLUMN annotations"));
    const store = track(openStore({ root }));
    await expectRightAnswers(store);
    const columns = readIndex(indexPathOf(root), (db) =>
      db.prepare("SELECT name FROM pragma_table_info('containers')").pluck().all(),
    );
    expect(columns).toContain("annotations");
  });

  it("a leftover -wal file of garbage beside a good index does not stop the store", async () => {
    const root = await rootWithBuiltIndex();
    fs.writeFileSync(`${indexPathOf(root)}-wal`, crypto.randomBytes(8192));
    await expectRightAnswers(track(openStore({ root })));
  });
});

describe("index recovery: an index from a newer schema", () => {
  async function newerIndex(): Promise<{ root: string; file: string }> {
    const root = await rootWithBuiltIndex();
    const file = indexPathOf(root);
    writeRawIndex(file, (db) => {
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.exec("CREATE TABLE from_the_future (x)");
    });
    return { root, file };
  }

  it("is refused with ERR_INDEX_SCHEMA naming both versions", async () => {
    const { root } = await newerIndex();
    let error: unknown;
    try {
      track(openStore({ root }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunscIndexError);
    expect((error as RunscIndexError).code).toBe("ERR_INDEX_SCHEMA");
    expect((error as Error).message).toContain(String(SCHEMA_VERSION + 1));
    expect((error as Error).message).toContain(String(SCHEMA_VERSION));
  });

  it("is left byte-for-byte untouched, and no -wal/-shm is left beside it", async () => {
    const { root, file } = await newerIndex();
    const before = sha256(file);
    const mtimeBefore = fs.statSync(file).mtimeMs;
    for (let i = 0; i < 3; i++) {
      expect(() => track(openStore({ root }))).toThrow(expect.objectContaining({ code: "ERR_INDEX_SCHEMA" }));
    }
    expect(sha256(file)).toBe(before);
    expect(fs.statSync(file).mtimeMs).toBe(mtimeBefore);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(fs.existsSync(`${file}-shm`)).toBe(false);
    readIndex(file, (db) => {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
      expect(db.prepare("SELECT count(*) FROM from_the_future").pluck().get()).toBe(0);
    });
  });

  it("is refused even when its tables are unknown to this version", async () => {
    const root = makeRoot({ fixtures: true });
    const file = indexPathOf(root);
    writeRawIndex(file, (db) => {
      db.exec("CREATE TABLE containers_v9 (id text PRIMARY KEY)");
      db.pragma(`user_version = ${SCHEMA_VERSION + 7}`);
    });
    const before = sha256(file);
    expect(() => track(openStore({ root }))).toThrow(expect.objectContaining({ code: "ERR_INDEX_SCHEMA" }));
    expect(sha256(file)).toBe(before);
  });

  it("is refused when passed explicitly with the index option, and left untouched", async () => {
    const { root, file } = await newerIndex();
    const elsewhere = path.join(path.dirname(root), `${path.basename(root)}-elsewhere.db`);
    fs.copyFileSync(file, elsewhere);
    try {
      const before = sha256(elsewhere);
      expect(() => track(openStore({ root, index: elsewhere }))).toThrow(
        expect.objectContaining({ code: "ERR_INDEX_SCHEMA" }),
      );
      expect(sha256(elsewhere)).toBe(before);
    } finally {
      for (const suffix of ["", "-wal", "-shm", ".open.lock"]) fs.rmSync(elsewhere + suffix, { force: true });
    }
  });
});
