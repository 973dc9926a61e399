import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { migrationsFolder, SCHEMA_VERSION } from "../../src/index/database.js";
import { INDEX_DIR, openStore, type Store } from "../../src/index.js";
import { makeRoot, removeTempDirs } from "../helpers/roots.js";

const JOURNAL = new URL("../../migrations/meta/_journal.json", import.meta.url);
const journalEntries = (): { tag: string }[] => JSON.parse(fs.readFileSync(JOURNAL, "utf8")).entries;

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

/** A store on a fixture root, and the path of its index. */
function openFixtureStore(): { store: Store; indexPath: string } {
  const root = makeRoot({ fixtures: true });
  const store = openStore({ root });
  stores.push(store);
  return { store, indexPath: path.join(root, INDEX_DIR, "index.db") };
}

/** readIndex opens the index file read-only with plain better-sqlite3 and runs fn on it. */
function readIndex<T>(indexPath: string, fn: (db: Database.Database) => T): T {
  const db = new Database(indexPath, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function columnsOf(db: Database.Database, table: string): { name: string; pk: number; notnull: number }[] {
  return db.prepare(`SELECT name, pk, "notnull" FROM pragma_table_info(?)`).all(table) as {
    name: string;
    pk: number;
    notnull: number;
  }[];
}

describe("index schema: migrations", () => {
  it("SCHEMA_VERSION equals the number of migrations in drizzle-kit's journal", () => {
    const entries = journalEntries();
    expect(entries.length).toBeGreaterThan(0);
    expect(SCHEMA_VERSION).toBe(entries.length);
  });

  it("every journal entry has its SQL file in the migrations folder the code finds", () => {
    const dir = migrationsFolder();
    expect(path.resolve(dir)).toBe(path.resolve(new URL("../../migrations", import.meta.url).pathname));
    for (const { tag } of journalEntries()) expect(fs.existsSync(path.join(dir, `${tag}.sql`))).toBe(true);
  });

  it("openStore creates the index at <root>/.runsc-index/index.db with drizzle's migrations applied", () => {
    const { indexPath } = openFixtureStore();
    expect(fs.existsSync(indexPath)).toBe(true);
    readIndex(indexPath, (db) => {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      // drizzle records each applied migration in its own table.
      const applied = db.prepare("SELECT count(*) FROM __drizzle_migrations").pluck().get();
      expect(applied).toBe(journalEntries().length);
    });
  });

  it("the index is in WAL mode", () => {
    const { indexPath } = openFixtureStore();
    readIndex(indexPath, (db) => expect(db.pragma("journal_mode", { simple: true })).toBe("wal"));
  });

  it("the index keeps no -wal or -shm files in the root directory itself", () => {
    const { store } = openFixtureStore();
    store.resolve("9f");
    const names = fs.readdirSync(store.root);
    expect(names.filter((n) => /-(wal|shm|journal)$/.test(n) || n.endsWith(".db"))).toEqual([]);
  });
});

describe("index schema: tables and columns (SPEC section 5)", () => {
  it("has tables containers, invalid_files and meta, and the view sandboxes", () => {
    const { indexPath } = openFixtureStore();
    const objects = readIndex(
      indexPath,
      (db) =>
        db.prepare("SELECT name, type FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").all() as {
          name: string;
          type: string;
        }[],
    );
    const typeOf = new Map(objects.map((o) => [o.name, o.type]));
    expect(typeOf.get("containers")).toBe("table");
    expect(typeOf.get("invalid_files")).toBe("table");
    expect(typeOf.get("meta")).toBe("table");
    expect(typeOf.get("sandboxes")).toBe("view");
  });

  it("containers has the spec's columns and the primary key (container_id, sandbox_id)", () => {
    const { indexPath } = openFixtureStore();
    const cols = readIndex(indexPath, (db) => columnsOf(db, "containers"));
    const names = cols.map((c) => c.name);
    for (const required of [
      "container_id",
      "sandbox_id",
      "status",
      "pid",
      "gofer_pid",
      "created_at",
      "bundle_dir",
      "owner",
      "is_root",
      "pod_name",
      "pod_namespace",
      "annotations",
      "file_size",
      "file_ino",
      "indexed_at",
      "state",
    ]) {
      expect(names, `column ${required}`).toContain(required);
    }
    // The file's mtime, in whatever unit the column name says.
    expect(names.some((n) => n.startsWith("file_mtime"))).toBe(true);
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    expect(pk.map((c) => c.name)).toEqual(["container_id", "sandbox_id"]);
  });

  it("invalid_files has name (primary key), reason and seen", () => {
    const { indexPath } = openFixtureStore();
    const cols = readIndex(indexPath, (db) => columnsOf(db, "invalid_files"));
    expect(cols.map((c) => c.name).sort()).toEqual(["name", "reason", "seen"]);
    expect(cols.find((c) => c.name === "name")!.pk).toBe(1);
  });

  it("the sandboxes view has one row per sandbox with its container count, from the files", async () => {
    const { store, indexPath } = openFixtureStore();
    await store.reconcile();
    const rows = readIndex(indexPath, (db) =>
      db.prepare("SELECT sandbox_id, container_count, has_root, pid, pod_name, pod_namespace FROM sandboxes").all(),
    );
    expect(rows).toEqual([
      {
        sandbox_id: "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd",
        container_count: 2,
        has_root: 1,
        pid: 412345,
        pod_name: "web-7d9f8c6b5-x2lqp",
        pod_namespace: "default",
      },
    ]);
  });

  it("containers rows carry the fixture fields after a reconcile", async () => {
    const { store, indexPath } = openFixtureStore();
    await store.reconcile();
    const rows = readIndex(indexPath, (db) =>
      db
        .prepare(
          `SELECT substr(container_id, 1, 6) AS c, status, pid, gofer_pid, created_at, owner, is_root, pod_name,
             pod_namespace, json_extract(annotations, '$."io.kubernetes.cri.container-type"') AS type,
             file_size, file_ino, indexed_at, state
           FROM containers ORDER BY container_id`,
        )
        .all(),
    ) as Record<string, unknown>[];
    expect(rows.map((r) => [r.c, r.status, r.pid, r.gofer_pid, r.is_root, r.type])).toEqual([
      ["9579eb", "created", 412345, 0, 0, "container"],
      ["9f447d", "running", 412345, 412331, 1, "sandbox"],
    ]);
    expect(rows[0]!.created_at).toBe("2026-08-12T14:03:31.209466553Z");
    expect(rows.map((r) => r.file_size)).toEqual([7602, 7217]);
    for (const [i, name] of fs
      .readdirSync(store.root)
      .filter((n) => n.endsWith(".state"))
      .sort()
      .entries()) {
      const st = fs.statSync(path.join(store.root, name), { bigint: true });
      expect(BigInt(rows[i]!.file_ino as number)).toBe(st.ino);
    }
    // `state` is filled only when asked (reconcile --with-state).
    expect(rows.map((r) => r.state)).toEqual([null, null]);
    expect(rows.every((r) => typeof r.indexed_at === "number")).toBe(true);
  });

  it("reconcile never runs ANALYZE: no sqlite_stat tables appear", async () => {
    const { store, indexPath } = openFixtureStore();
    await store.reconcile({ full: true });
    await store.list();
    const stats = readIndex(indexPath, (db) =>
      db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'sqlite_stat%'").pluck().all(),
    );
    expect(stats).toEqual([]);
  });
});
