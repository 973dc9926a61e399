import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/index/database.js";
import { openStore, QuerySyntaxError, RunscIndexError, type Store } from "../../src/index.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  makeRoot,
  makeTempDir,
  removeTempDirs,
} from "../helpers/roots.js";

const REPO_ROOT = path.join(import.meta.dirname, "..", "..");

// Each test of refusals gets a store of its own: a refused statement that still changed the
// query connection must fail its own test, not the ones after it.
let store: Store;
let outside: string;

async function openFixtureStore(): Promise<void> {
  store = openStore({ root: makeRoot({ fixtures: true }) });
  await store.reconcile();
  outside = makeTempDir("query-outside");
}

function closeStore(): void {
  store.close();
  removeTempDirs();
}

async function queryError(sql: string, params?: unknown[]): Promise<RunscIndexError> {
  try {
    await store.query(sql, params);
  } catch (e) {
    expect(e).toBeInstanceOf(RunscIndexError);
    return e as RunscIndexError;
  }
  throw new Error(`query was allowed: ${sql}`);
}

async function one(sql: string): Promise<unknown> {
  const { rows } = await store.query(sql, [], { fresh: false });
  return Object.values(rows[0]!)[0];
}

/** The index still holds what it held before, and the query connection's settings are unchanged. */
async function expectIndexUntouched(): Promise<void> {
  const rows = await store.query("SELECT container_id, status FROM containers ORDER BY container_id", [], {
    fresh: false,
  });
  expect(rows.rows).toEqual([
    { container_id: FIXTURE_SUB_ID, status: "created" },
    { container_id: FIXTURE_ROOT_ID, status: "running" },
  ]);
  expect(await one("SELECT count(*) FROM meta")).toBeGreaterThan(0);
  expect(await one("SELECT user_version FROM pragma_user_version")).toBe(SCHEMA_VERSION);
  expect(await one("SELECT journal_mode FROM pragma_journal_mode")).toBe("wal");
  expect(await one("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'sqlite_stat%'")).toBe(0);
  expect(await one("SELECT count(*) FROM sqlite_temp_schema")).toBe(0);
  // The connection's fences are still up: query_only, and a case-sensitive LIKE.
  expect(await one("SELECT query_only FROM pragma_query_only")).toBe(1);
  expect(await one("SELECT count(*) FROM containers WHERE container_id LIKE '9F%'")).toBe(0);
}

describe("query: anything but a read is refused with ERR_READONLY_QUERY", () => {
  beforeEach(openFixtureStore);
  afterEach(closeStore);

  const refused: [string, string][] = [
    ["INSERT", "INSERT INTO meta (key, value) VALUES ('x', 'y')"],
    ["INSERT ... RETURNING", "INSERT INTO meta (key, value) VALUES ('x', 'y') RETURNING key"],
    ["REPLACE", "REPLACE INTO meta (key, value) VALUES ('names_mtime_ns', '0')"],
    ["UPDATE", "UPDATE containers SET status = 'stopped'"],
    ["DELETE", "DELETE FROM containers"],
    ["WITH ... DELETE", "WITH doomed AS (SELECT container_id FROM containers) DELETE FROM containers"],
    ["DELETE after a block comment", "/* just a select */ DELETE FROM containers"],
    ["DELETE after a line comment", "-- select\nDELETE FROM containers"],
    ["CREATE TABLE", "CREATE TABLE t (x)"],
    ["CREATE TEMP TABLE", "CREATE TEMP TABLE t (x)"],
    ["CREATE INDEX", "CREATE INDEX i ON containers (status)"],
    ["CREATE VIEW", "CREATE VIEW v AS SELECT 1"],
    ["CREATE TRIGGER", "CREATE TEMP TRIGGER tr AFTER INSERT ON meta BEGIN SELECT 1; END"],
    ["DROP TABLE", "DROP TABLE containers"],
    ["DROP VIEW", "DROP VIEW sandboxes"],
    ["ALTER TABLE", "ALTER TABLE containers ADD COLUMN x"],
    ["ATTACH", "ATTACH DATABASE 'OUTSIDE/attached.db' AS other"],
    ["ATTACH in memory", "ATTACH DATABASE ':memory:' AS other"],
    ["DETACH", "DETACH DATABASE main"],
    ["PRAGMA user_version =", "PRAGMA user_version = 99"],
    ["PRAGMA journal_mode =", "PRAGMA journal_mode = DELETE"],
    ["PRAGMA writable_schema =", "PRAGMA writable_schema = ON"],
    ["PRAGMA foreign_keys =", "PRAGMA foreign_keys = ON"],
    ["VACUUM", "VACUUM"],
    ["VACUUM INTO", "VACUUM INTO 'OUTSIDE/copy.db'"],
    ["load_extension", "SELECT load_extension('x')"],
    ["load_extension of a real path", "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libc.so.6')"],
    ["REINDEX", "REINDEX"],
    ["ANALYZE", "ANALYZE"],
    ["ANALYZE a table", "ANALYZE containers"],
    ["BEGIN", "BEGIN"],
    ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"],
    ["SAVEPOINT", "SAVEPOINT s"],
    ["COMMIT", "COMMIT"],
  ];

  it.each(refused)("%s", async (_what, template) => {
    const sql = template.replace("OUTSIDE", outside);
    const e = await queryError(sql);
    expect(e.code).toBe("ERR_READONLY_QUERY");
    await expectIndexUntouched();
  });

  // SQLite applies these pragmas while preparing them: they must be refused by keyword, unprepared,
  // or the query connection is left with a case-insensitive LIKE (no longer SEARCHed) or query_only off.
  it.each([
    ["PRAGMA case_sensitive_like =", "PRAGMA case_sensitive_like = OFF"],
    ["PRAGMA query_only =", "PRAGMA query_only = OFF"],
    ["EXPLAIN PRAGMA case_sensitive_like =", "EXPLAIN PRAGMA case_sensitive_like = OFF"],
  ])("%s (and the connection keeps its settings)", async (_what, sql) => {
    const e = await queryError(sql);
    expect(e.code).toBe("ERR_READONLY_QUERY");
    await expectIndexUntouched();
  });

  it("VACUUM INTO and ATTACH create no file", async () => {
    await queryError(`VACUUM INTO '${path.join(outside, "copy2.db")}'`);
    await queryError(`ATTACH DATABASE '${path.join(outside, "attached2.db")}' AS other`);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("several statements in one string are refused and none of them runs", async () => {
    await expect(store.query("SELECT 1; DELETE FROM containers")).rejects.toBeInstanceOf(RunscIndexError);
    await expect(store.query("DELETE FROM containers; SELECT 1")).rejects.toBeInstanceOf(RunscIndexError);
    await expectIndexUntouched();
  });

  it("the error message quotes the refused statement", async () => {
    const e = await queryError("DELETE FROM containers");
    expect(e.message).toContain("DELETE FROM containers");
  });
});

describe("query: reads work", () => {
  beforeAll(openFixtureStore);
  afterAll(closeStore);

  it("a SELECT returns the column names and the rows", async () => {
    const result = await store.query(
      "SELECT container_id, is_root FROM containers WHERE sandbox_id = ? ORDER BY container_id",
      [FIXTURE_SANDBOX_ID],
    );
    expect(result.columns).toEqual(["container_id", "is_root"]);
    expect(result.rows).toEqual([
      { container_id: FIXTURE_SUB_ID, is_root: 0 },
      { container_id: FIXTURE_ROOT_ID, is_root: 1 },
    ]);
  });

  it("positional parameters bind in order", async () => {
    const result = await store.query("SELECT count(*) AS n FROM containers WHERE sandbox_id = ? AND is_root = ?", [
      FIXTURE_SANDBOX_ID,
      0,
    ]);
    expect(result.rows).toEqual([{ n: 1 }]);
  });

  it.each(["@", ":", "$"])("named parameters (%sname) bind from an object", async (sigil) => {
    const result = await store.query(
      `SELECT container_id FROM containers WHERE sandbox_id = ${sigil}sid AND status = ${sigil}status`,
      { sid: FIXTURE_SANDBOX_ID, status: "running" },
    );
    expect(result.rows).toEqual([{ container_id: FIXTURE_ROOT_ID }]);
  });

  it("WITH ... SELECT, VALUES, EXPLAIN and the sandboxes view are reads", async () => {
    const cte = await store.query("WITH c AS (SELECT status FROM containers) SELECT count(*) AS n FROM c");
    expect(cte.rows).toEqual([{ n: 2 }]);
    expect((await store.query("VALUES (1, 'a')")).rows).toHaveLength(1);
    expect((await store.query("EXPLAIN QUERY PLAN SELECT * FROM containers")).rows.length).toBeGreaterThan(0);
    expect((await store.query("SELECT container_count FROM sandboxes")).rows).toEqual([{ container_count: 2 }]);
  });

  it("a SELECT with a leading comment is a read", async () => {
    const result = await store.query("-- how many\n/* all */ SELECT count(*) AS n FROM containers");
    expect(result.rows).toEqual([{ n: 2 }]);
  });

  it("annotations are JSON text usable with json_extract", async () => {
    const result = await store.query(
      `SELECT json_extract(annotations, '$."io.kubernetes.cri.container-name"') AS name FROM containers WHERE container_id = ?`,
      [FIXTURE_SUB_ID],
    );
    expect(result.rows).toEqual([{ name: "nginx" }]);
  });

  it("a SELECT of a table that does not exist is an error, not a read-only refusal", async () => {
    const e = await queryError("SELECT * FROM no_such_table");
    expect(e.code).not.toBe("ERR_READONLY_QUERY");
    expect(e.message).toContain("no_such_table");
  });
});

/** The table of statement kinds in docs/sql.md: [example, expected result]. */
function documentedKinds(): [string, string][] {
  const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "sql.md"), "utf8");
  const rows = doc.split("\n").filter((l) => /^\s*\| .* \| `.*` \| (runs|`ERR_\w+`) \|$/.test(l));
  return rows.map((l) => {
    const cells = l.trim().slice(1, -1).split(" | ");
    const example = /^`([^`]*)`/.exec(cells[1]!.trim())![1]!.replace(/\\n/g, "\n");
    return [example, cells[2]!.trim().replace(/`/g, "")];
  });
}

const ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";
const upTo = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})`;

describe("query: docs/sql.md's table of statement kinds is what the code does", () => {
  beforeAll(openFixtureStore);
  afterAll(closeStore);

  it("the table has a row for every kind", () => {
    expect(documentedKinds().length).toBeGreaterThanOrEqual(20);
    expect(new Set(documentedKinds().map(([, r]) => r))).toEqual(
      new Set(["runs", "ERR_READONLY_QUERY", "ERR_INVALID_ARGUMENT"]),
    );
  });

  it.each(documentedKinds())("%s -> %s", async (sql, expected) => {
    const outcome = await store.query(sql, [], { fresh: false }).then(
      () => "runs",
      (e: unknown) => (e instanceof RunscIndexError ? e.code : `threw ${String(e)}`),
    );
    expect(outcome).toBe(expected);
    await expectIndexUntouched();
  });
});

describe("query: SQL errors say where", () => {
  beforeAll(openFixtureStore);
  afterAll(closeStore);

  it.each([
    ["SELEKT 1", 'near "SELEKT": syntax error', 0],
    ["  -- a typo\n  SELEKT container_id FROM containers", 'near "SELEKT": syntax error', 14],
    [
      "SELECT container_id FROM containers WHERE status = 'running' ORDER container_id",
      'near "container_id": syntax error',
      67,
    ],
    ["SELECT * FROM containers WHERE", "incomplete input", 30],
    ["SELECT 'abc", 'unrecognized token: "\'abc"', 7],
    ["SELECT 1; SELEKT 2", 'near "SELEKT": syntax error', 10],
  ])("%j: SQLite's message and the offset", async (sql, message, offset) => {
    const e = await queryError(sql);
    expect(e.code).toBe("ERR_INVALID_ARGUMENT");
    expect(e).toBeInstanceOf(QuerySyntaxError);
    expect(e.message).toContain(message);
    expect((e as QuerySyntaxError).offset).toBe(offset);
  });

  it("a token that occurs twice is placed where SQLite stopped, not at its first occurrence", async () => {
    const sql = "SELECT status AS status FROM containers status status";
    const e = (await queryError(sql)) as QuerySyntaxError;
    expect(e.message).toContain('near "status": syntax error');
    expect(e.offset).toBe(sql.lastIndexOf("status"));
  });
});

describe("query: bounded in time, cancellable, streamed", () => {
  beforeAll(openFixtureStore);
  afterAll(closeStore);

  it("an endless recursive CTE stops at the time limit with ERR_QUERY_TIMEOUT, and its process is killed", async () => {
    await store.query("SELECT 1", [], { fresh: false }); // warm: the worker process exists now
    const before = queryWorkerPids();
    expect(before.length).toBe(1);
    const began = Date.now();
    const e = await store
      .query(`${ENDLESS} SELECT count(*) FROM c`, [], { fresh: false, timeoutMs: 300 })
      .catch((x: unknown) => x as RunscIndexError);
    expect(e).toBeInstanceOf(RunscIndexError);
    expect((e as RunscIndexError).code).toBe("ERR_QUERY_TIMEOUT");
    expect((e as Error).message).toContain("300 ms");
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(Date.now() - began).toBeLessThan(20_000);
    // count(*) never returns to JavaScript: only killing the process stops it.
    await waitFor(() => !queryWorkerPids().includes(before[0]!));
    expect((await store.query("SELECT count(*) AS n FROM containers", [], { fresh: false })).rows).toEqual([{ n: 2 }]);
  });

  it("in a worker thread, an endless query that yields rows stops at the time limit too", async () => {
    const e = await store
      .query(`${ENDLESS} SELECT x FROM c`, [], { fresh: false, timeoutMs: 300, isolation: "thread" })
      .catch((x: unknown) => x as RunscIndexError);
    expect((e as RunscIndexError).code).toBe("ERR_QUERY_TIMEOUT");
  });

  it("the time limit counts the wait for SQLite, not the time spent on rows already there", async () => {
    const rows = await store.queryRows(`${upTo(3)} SELECT x FROM c`, [], { fresh: false, timeoutMs: 200 });
    const seen: unknown[] = [];
    for await (const row of rows) {
      seen.push(row.x);
      await new Promise((r) => setTimeout(r, 150)); // 450 ms in all, past the limit
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it("the event loop keeps running while a query runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      await store.query(`${ENDLESS} SELECT count(*) FROM c`, [], { fresh: false, timeoutMs: 1000 }).catch(() => {});
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it("an AbortSignal cancels a running query with ERR_ABORTED; an aborted one never starts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const e = await store
      .query(`${ENDLESS} SELECT count(*) FROM c`, [], { fresh: false, signal: controller.signal })
      .catch((x: unknown) => x as RunscIndexError);
    expect((e as RunscIndexError).code).toBe("ERR_ABORTED");
    const again = await store
      .query("SELECT 1", [], { fresh: false, signal: controller.signal })
      .catch((x: unknown) => x as RunscIndexError);
    expect((again as RunscIndexError).code).toBe("ERR_ABORTED");
  });

  it("queryRows gives the columns first and the rows as they come; maxRows cuts the result short", async () => {
    const rows = await store.queryRows(`${ENDLESS} SELECT x, 'r' || x AS label FROM c`, [], {
      fresh: false,
      maxRows: 2000,
    });
    expect(rows.columns).toEqual(["x", "label"]);
    let n = 0;
    for await (const row of rows) expect(row).toEqual({ x: ++n, label: `r${n}` });
    expect(n).toBe(2000);
    expect(rows.truncated).toBe(true);
    const all = await store.queryRows("SELECT container_id FROM containers WHERE 0", [], { fresh: false, maxRows: 5 });
    expect(all.columns).toEqual(["container_id"]);
    for await (const _ of all) throw new Error("no rows expected");
    expect(all.truncated).toBe(false);
  });

  it("leaving the loop early stops the query, and the next one runs", async () => {
    const rows = await store.queryRows(`${ENDLESS} SELECT x FROM c`, [], { fresh: false });
    for await (const row of rows) if (row.x === 1000) break;
    expect((await store.query("SELECT 42 AS n", [], { fresh: false })).rows).toEqual([{ n: 42 }]);
  });

  it("two queries at once each get their rows", async () => {
    const [a, b] = await Promise.all([
      store.queryRows(`${upTo(3000)} SELECT x FROM c`, [], { fresh: false }),
      store.queryRows(`${upTo(3000)} SELECT -x AS x FROM c`, [], { fresh: false }),
    ]);
    let sum = 0;
    const ia = a[Symbol.asyncIterator]();
    const ib = b[Symbol.asyncIterator]();
    for (;;) {
      const [ra, rb] = await Promise.all([ia.next(), ib.next()]);
      if (ra.done || rb.done) {
        expect(ra.done && rb.done).toBe(true);
        break;
      }
      sum += (ra.value.x as number) + (rb.value.x as number);
    }
    expect(sum).toBe(0);
  });

  it("integers past 2^53 keep every digit through the worker", async () => {
    const r = await store.query("SELECT 9007199254740993 AS big, 42 AS small", [], { fresh: false });
    expect(r.rows).toEqual([{ big: 9007199254740993n, small: 42 }]);
  });

  it("bad limits are ERR_INVALID_ARGUMENT", async () => {
    await expect(store.query("SELECT 1", [], { timeoutMs: 0 })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
    await expect(store.query("SELECT 1", [], { maxRows: -1 })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
  });
});

/** The PIDs of this process's children that run the query worker. */
function queryWorkerPids(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (ppid === process.pid && state !== "Z" && cmdline.includes("query-worker")) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("query: workers never hold a process open", () => {
  beforeAll(openFixtureStore);
  afterAll(closeStore);

  it("closing the store fails a running query with ERR_CLOSED", async () => {
    const s = openStore({ root: store.root });
    const rows = await s.queryRows(`${ENDLESS} SELECT x FROM c`, [], { fresh: false });
    const it = rows[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ x: 1 });
    s.close();
    const e = await (async () => {
      while (!(await it.next()).done);
      return "ended without an error";
    })().catch((x: unknown) => x);
    expect((e as RunscIndexError).code).toBe("ERR_CLOSED");
  });

  it.each(["process", "thread"])(
    "a process that leaves a result unread and its store open still exits (%s)",
    (isolation) => {
      const src = path.join(REPO_ROOT, "src", "index.ts");
      const code = `
        const { openStore } = await import(${JSON.stringify(src)});
        const store = openStore({ root: ${JSON.stringify(store.root)} });
        const rows = await store.queryRows(${JSON.stringify(`${ENDLESS} SELECT x FROM c`)}, [], { isolation: ${JSON.stringify(isolation)} });
        console.log(rows.columns.join(","));`;
      const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
        encoding: "utf8",
        timeout: 50_000,
      });
      expect(r.signal).toBeNull();
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("x\n");
      expect(r.status).toBe(0);
    },
    60_000,
  );
});
