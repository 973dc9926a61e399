/**
 * Read-only SQL: every statement that writes, attaches, changes a pragma,
 * opens a transaction or loads code must fail with ERR_READONLY_QUERY, and
 * the index must come out unchanged (row counts, pragmas, bytes on disk, and
 * no file created by VACUUM INTO or ATTACH).
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INDEX_DIR, openStore, RunscIndexError, type Store } from "../../src/index.js";
import { makeRoot, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";
import { snapshotDir } from "./support.js";

let root: string;
let scratch: string;
let store: Store;
let indexDb: string;

/** Statements that must be refused, by what they try to do. */
function writes(): [string, string][] {
  const target = path.join(scratch, "vacuum-into.db");
  const attached = path.join(scratch, "attached.db");
  return [
    ["insert", "INSERT INTO containers (container_id, sandbox_id, is_root, pending) VALUES ('x', 'x', 1, 0)"],
    ["insert or replace", "INSERT OR REPLACE INTO meta (key, value) VALUES ('names_mtime_ns', '0')"],
    ["replace", "REPLACE INTO invalid_files (name, reason, seen) VALUES ('a', 'b', 0)"],
    ["update", "UPDATE containers SET status = 'stopped'"],
    ["delete", "DELETE FROM containers"],
    ["lowercase delete", "delete from containers"],
    ["delete after a comment", "/* harmless */ -- really\n DELETE FROM containers"],
    ["delete returning", "DELETE FROM containers RETURNING container_id"],
    ["insert returning", "INSERT INTO meta (key, value) VALUES ('k', 'v') RETURNING key"],
    ["pragma optimize", "PRAGMA optimize"],
    ["pragma incremental_vacuum", "PRAGMA incremental_vacuum"],
    ["upsert", "INSERT INTO meta (key, value) VALUES ('k', 'v') ON CONFLICT (key) DO UPDATE SET value = 'w'"],
    ["CTE then insert", "WITH x AS (SELECT 1) INSERT INTO meta (key, value) SELECT 'k', 'v' FROM x"],
    ["CTE then delete", "WITH x AS (SELECT 1) DELETE FROM containers"],
    ["create table", "CREATE TABLE t (a)"],
    ["create temp table", "CREATE TEMP TABLE t (a)"],
    ["create index", "CREATE INDEX i ON containers (status)"],
    ["create view", "CREATE VIEW v AS SELECT 1"],
    ["create temp view", "CREATE TEMP VIEW v AS SELECT 1"],
    ["create trigger", "CREATE TRIGGER tr AFTER INSERT ON meta BEGIN DELETE FROM containers; END"],
    ["drop table", "DROP TABLE containers"],
    ["drop view", "DROP VIEW sandboxes"],
    ["drop index", "DROP INDEX containers_sandbox_id"],
    ["alter", "ALTER TABLE containers ADD COLUMN x"],
    ["attach file", `ATTACH DATABASE '${attached}' AS other`],
    ["attach memory", "ATTACH ':memory:' AS m"],
    ["detach", "DETACH DATABASE main"],
    ["pragma user_version", "PRAGMA user_version = 5"],
    ["pragma journal_mode", "PRAGMA journal_mode = DELETE"],
    ["pragma query_only", "PRAGMA query_only = 0"],
    ["pragma case_sensitive_like", "PRAGMA case_sensitive_like = OFF"],
    ["pragma writable_schema", "PRAGMA writable_schema = ON"],
    ["pragma wal_checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)"],
    ["vacuum", "VACUUM"],
    ["vacuum into", `VACUUM INTO '${target}'`],
    ["vacuum into /tmp", "VACUUM INTO '/tmp/x'"],
    ["load_extension", "SELECT load_extension('x')"],
    ["reindex", "REINDEX"],
    ["analyze", "ANALYZE"],
    ["begin", "BEGIN"],
    ["begin immediate", "BEGIN IMMEDIATE"],
    ["commit", "COMMIT"],
    ["savepoint", "SAVEPOINT s"],
    ["release", "RELEASE s"],
  ];
}

/** Several statements in one string, one of them writing: refused before anything is prepared. */
const MULTI: [string, string][] = [
  ["two statements", "SELECT 1; DELETE FROM containers"],
  ["two statements, second a pragma", "SELECT 1; PRAGMA user_version = 5"],
  ["two statements, second an attach", "SELECT 1; ATTACH ':memory:' AS m"],
];

/** outcomes runs each statement and records the error code it failed with (or that it ran). */
async function outcomes(statements: readonly [string, string][]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [what, sql] of statements) {
    try {
      const r = await store.query(sql, [], { fresh: false });
      out[what] = `ran: ${JSON.stringify(r.rows).slice(0, 60)}`;
    } catch (e) {
      out[what] = e instanceof RunscIndexError ? e.code : `threw ${String(e)}`;
    }
  }
  return out;
}

/** What the index holds and how it is set, read on a connection of our own. */
function indexState(): Record<string, unknown> {
  const db = new Database(indexDb, { readonly: true });
  try {
    const count = (t: string) => db.prepare(`SELECT count(*) AS n FROM ${t}`).pluck().get();
    return {
      containers: count("containers"),
      invalid: count("invalid_files"),
      meta: db.prepare("SELECT key, value FROM meta ORDER BY key").all(),
      schema: db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name").all(),
      userVersion: db.pragma("user_version", { simple: true }),
      journalMode: db.pragma("journal_mode", { simple: true }),
      statuses: db.prepare("SELECT DISTINCT status FROM containers ORDER BY 1").pluck().all(),
    };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  root = makeRoot({ fixtures: true });
  scratch = makeTempDir("sql");
  for (const id of ["abc", "abd"]) writeState(root, { containerId: id });
  fs.writeFileSync(path.join(root, "bad_sandbox:bad.state"), "{");
  indexDb = path.join(root, INDEX_DIR, "index.db");
  store = openStore({ root });
  await store.reconcile({ full: true });
  // Settle: the first query may bring contents in line; after it, fresh:false queries write nothing.
  await store.query("SELECT 1");
});

afterAll(() => {
  store?.close();
  removeTempDirs();
});

describe("read-only SQL", () => {
  it("has over 40 statements to refuse", () => {
    expect(writes().length).toBeGreaterThan(40);
  });

  it("a SELECT with a trailing semicolon and comments is one statement, and runs", async () => {
    const r = await store.query("-- count\nSELECT count(*) AS n FROM containers; /* done */", [], { fresh: false });
    expect(r.rows).toEqual([{ n: 5 }]);
  });

  it("a plain SELECT still works, and sees the rows", async () => {
    const r = await store.query("SELECT container_id FROM containers WHERE container_id LIKE 'ab%' ORDER BY 1", [], {
      fresh: false,
    });
    expect(r.rows).toEqual([{ container_id: "abc" }, { container_id: "abd" }]);
  });

  it("every writing, attaching, pragma-changing or transaction statement fails with ERR_READONLY_QUERY", async () => {
    const tmpX = fs.existsSync("/tmp/x");
    const before = indexState();
    const files = snapshotDir(path.dirname(indexDb));
    expect(await outcomes(writes())).toEqual(
      Object.fromEntries(writes().map(([what]) => [what, "ERR_READONLY_QUERY"])),
    );
    expect(indexState()).toEqual(before);
    expect(snapshotDir(path.dirname(indexDb))).toEqual(files);
    expect(fs.readdirSync(scratch)).toEqual([]);
    if (!tmpX) expect(fs.existsSync("/tmp/x")).toBe(false);
    // The connection is still usable, and still read-only.
    expect((await store.query("SELECT count(*) AS n FROM containers", [], { fresh: false })).rows).toEqual([
      { n: before.containers },
    ]);
  });

  it("several statements in one string fail with a RunscIndexError and change nothing", async () => {
    const before = indexState();
    const files = snapshotDir(path.dirname(indexDb));
    const codes = await outcomes(MULTI);
    for (const [what] of MULTI) expect(["ERR_READONLY_QUERY", "ERR_INVALID_ARGUMENT"]).toContain(codes[what]);
    expect(indexState()).toEqual(before);
    expect(snapshotDir(path.dirname(indexDb))).toEqual(files);
  });

  // SPEC 5 wants ERR_READONLY_QUERY for anything that writes, and "SELECT 1; DELETE ..." is such a
  // string: each statement is classified by its keyword (several that only read are ERR_INVALID_ARGUMENT).
  it("several statements in one string, one of them writing, fail with ERR_READONLY_QUERY", async () => {
    expect(await outcomes(MULTI)).toEqual(Object.fromEntries(MULTI.map(([what]) => [what, "ERR_READONLY_QUERY"])));
  });

  it("the error names the statement", async () => {
    const e = await store.query("DELETE FROM containers", [], { fresh: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RunscIndexError);
    expect((e as Error).message).toContain("DELETE FROM containers");
  });
});
