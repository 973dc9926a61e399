import path from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IdPair } from "../../src/ids/id.js";
import { openIndexDatabase, type SqliteDatabase } from "../../src/index/database.js";
import { SqliteIndex } from "../../src/index/sqlite-index.js";
import { openStore, type Store } from "../../src/index.js";
import { makeRoot, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";

/**
 * An index opened as the store opens it, with every SQL text SqliteIndex
 * prepares recorded, so the plans below are those of the statements it runs.
 * Statements are prepared on first use: useEveryLookup runs each lookup once.
 */
function openRecordingIndex(): { index: SqliteIndex; db: SqliteDatabase; prepared: string[] } {
  const dir = makeTempDir("prefix-index");
  const { db } = openIndexDatabase(path.join(dir, "index.db"));
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  return { index: new SqliteIndex(db), db, prepared };
}

/** useEveryLookup runs each statement that finds containers by ID, so that it is prepared (and recorded). */
function useEveryLookup(index: SqliteIndex): void {
  const c = { containerId: "0", sandboxId: "0" } as IdPair;
  index.withPrefix("0", undefined, 1);
  index.withPrefix("0", "0", 1);
  index.exact("0", undefined);
  index.exact("0", "0");
  index.has(c);
  index.indexedFile(c);
  index.events.priorOf("0", "0");
  index.write(() => {
    index.remove(c);
    index.events.logStopped("0", "0", null, 1);
  });
}

function addRows(index: SqliteIndex, ids: readonly (readonly [string, string])[]): void {
  index.write(() => {
    for (const [containerId, sandboxId] of ids) index.notePending({ containerId, sandboxId } as IdPair);
  });
}

function planOf(db: SqliteDatabase, sql: string, params: unknown[]): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
}

const ids = (cs: readonly IdPair[]) => cs.map((c) => c.containerId);

describe("prefix lookup: the range query answers from the primary key", () => {
  let index: SqliteIndex;
  let db: SqliteDatabase;
  let prepared: string[];

  beforeAll(() => {
    ({ index, db, prepared } = openRecordingIndex());
    // 5,000 rows, ten containers per sandbox, so the planner sees a realistic table (never ANALYZEd).
    const idOf = (i: number) => i.toString(16).padStart(8, "0").repeat(8);
    addRows(
      index,
      Array.from({ length: 5_000 }, (_, i) => [idOf(i), idOf(i - (i % 10))] as const),
    );
    useEveryLookup(index);
  });
  afterAll(() => {
    db.close();
    removeTempDirs();
  });

  it("SqliteIndex prepares range statements of the form container_id >= ? AND container_id < ?", () => {
    const range = prepared.filter((sql) => /container_id\s*>=\s*\?\s+AND\s+container_id\s*<\s*\?/i.test(sql));
    expect(range.length).toBeGreaterThanOrEqual(1);
    expect(prepared.filter((sql) => /\bLIKE\b|\bGLOB\b/i.test(sql))).toEqual([]);
  });

  it("EXPLAIN QUERY PLAN of every range statement shows SEARCH on the primary key, never SCAN", () => {
    const range = prepared.filter((sql) => /container_id\s*>=\s*\?/i.test(sql));
    for (const sql of range) {
      const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, (_, i) => (i === 0 ? "00000a" : "zz"));
      const plan = planOf(db, sql, params);
      // The event log's per-container lookup (events_container) is held to the same rule.
      expect(plan.join("\n"), sql).toMatch(/^SEARCH (containers|events) USING /m);
      expect(plan.join("\n"), sql).not.toMatch(/\bSCAN (containers|events)\b/);
    }
    // Without a sandbox the search is on the primary key's container_id range.
    const plain = range.find((sql) => !/sandbox_id\s*=/.test(sql))!;
    expect(planOf(db, plain, ["00000a", "00000b", 2]).join("\n")).toMatch(
      /SEARCH containers USING (COVERING INDEX |INDEX )?(sqlite_autoindex_containers_1|PRIMARY KEY) \(container_id>\? AND container_id<\?\)/,
    );
  });

  it("EXPLAIN QUERY PLAN of the exact-ID statements shows SEARCH, never SCAN", () => {
    const exact = prepared.filter((sql) => /WHERE container_id = \?/.test(sql));
    expect(exact.length).toBeGreaterThanOrEqual(1);
    for (const sql of exact) {
      const plan = planOf(
        db,
        sql,
        Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => "x"),
      );
      // The event log's per-container lookup (events_container) is held to the same rule.
      expect(plan.join("\n"), sql).toMatch(/^SEARCH (containers|events) USING /m);
      expect(plan.join("\n"), sql).not.toMatch(/\bSCAN (containers|events)\b/);
    }
  });

  it("withPrefix finds exactly the IDs that start with the prefix, sorted, up to the limit", () => {
    const all = index.withPrefix("0000001", undefined, 1_000);
    expect(ids(all)).toEqual(
      Array.from({ length: 16 }, (_, i) => (0x10 + i).toString(16).padStart(8, "0").repeat(8)).filter((id) =>
        id.startsWith("0000001"),
      ),
    );
    expect(index.withPrefix("0000001", undefined, 2)).toHaveLength(2);
    expect(index.withPrefix("zz", undefined, 10)).toEqual([]);
  });
});

describe("prefix lookup: characters are literal and case matters", () => {
  let index: SqliteIndex;
  let db: SqliteDatabase;

  beforeAll(() => {
    ({ index, db } = openRecordingIndex());
    addRows(index, [
      ["abc1", "s1"],
      ["ABC2", "s1"],
      ["aBc3", "s1"],
      ["a_b1", "s2"],
      ["axb2", "s2"],
      ["a_c3", "s2"],
      ["a.b", "s3"],
      ["axb", "s3"],
      ["a-b", "s3"],
      ["z", "s4"],
      ["z-9", "s4"],
      ["z9", "s4"],
    ]);
  });
  afterAll(() => {
    db.close();
    removeTempDirs();
  });

  it("is case-sensitive", () => {
    expect(ids(index.withPrefix("abc", undefined, 10))).toEqual(["abc1"]);
    expect(ids(index.withPrefix("ABC", undefined, 10))).toEqual(["ABC2"]);
    expect(ids(index.withPrefix("a", undefined, 10))).not.toContain("ABC2");
  });

  it("treats `_` as a literal underscore, not a wildcard", () => {
    expect(ids(index.withPrefix("a_", undefined, 10))).toEqual(["a_b1", "a_c3"]);
    expect(ids(index.withPrefix("a_b", undefined, 10))).toEqual(["a_b1"]);
  });

  it("treats `.` and `-` as literal characters", () => {
    expect(ids(index.withPrefix("a.", undefined, 10))).toEqual(["a.b"]);
    expect(ids(index.withPrefix("a-", undefined, 10))).toEqual(["a-b"]);
    expect(ids(index.withPrefix("z-", undefined, 10))).toEqual(["z-9"]);
  });

  it("a prefix ending in the highest ID character still finds its IDs", () => {
    expect(ids(index.withPrefix("z", undefined, 10))).toEqual(["z", "z-9", "z9"]);
  });

  it("exact matches only the whole ID", () => {
    expect(ids(index.exact("axb", undefined))).toEqual(["axb"]);
    expect(index.exact("ax", undefined)).toEqual([]);
    expect(index.exact("abc", undefined)).toEqual([]);
  });

  it("a sandbox narrows the range to that sandbox", () => {
    expect(ids(index.withPrefix("a", "s2", 10))).toEqual(["a_b1", "a_c3", "axb2"]);
    expect(index.withPrefix("abc", "s2", 10)).toEqual([]);
  });
});

describe("prefix lookup: agrees with a plain startsWith filter (property)", () => {
  afterEach(() => removeTempDirs());

  it("withPrefix(p) is the sorted list of IDs starting with p, for any IDs and prefix", () => {
    const { index, db } = openRecordingIndex();
    try {
      const alphabet = "aAzZ09_+.-";
      const idArb = fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 6 });
      fc.assert(
        fc.property(fc.uniqueArray(idArb, { maxLength: 40 }), idArb, (cids, prefix) => {
          db.exec("DELETE FROM containers");
          addRows(
            index,
            cids.map((c) => [c, "s"]),
          );
          const expected = cids.filter((c) => c.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          expect(ids(index.withPrefix(prefix, undefined, 1_000))).toEqual(expected);
        }),
        { numRuns: 300 },
      );
    } finally {
      db.close();
    }
  });
});

describe("prefix lookup through the store and user SQL", () => {
  let store: Store;

  beforeAll(async () => {
    const root = makeRoot();
    for (const id of ["abc1", "ABD2", "a_b", "axb", "c_x", "cyx1", "cyx2"]) writeState(root, { containerId: id });
    store = openStore({ root });
    await store.reconcile();
  });
  afterAll(() => {
    store.close();
    removeTempDirs();
  });

  it("resolve: `_` in a prefix is literal, so `a_` names only a_b", () => {
    expect(store.resolve("a_").containerId).toBe("a_b");
    expect(store.resolve("c_").containerId).toBe("c_x");
  });

  it("resolve: case-sensitive, so `a` is ambiguous only among lower-case IDs", () => {
    expect(store.resolve("ab").containerId).toBe("abc1");
    expect(store.resolve("AB").containerId).toBe("ABD2");
    try {
      store.resolve("a");
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe("ERR_AMBIGUOUS_ID");
      expect((e as { candidates: IdPair[] }).candidates.map((c) => c.containerId)).toEqual(["a_b", "abc1", "axb"]);
    }
  });

  it("query: LIKE 'x%' on container_id is case-sensitive", async () => {
    const result = await store.query("SELECT container_id FROM containers WHERE container_id LIKE 'ab%' ORDER BY 1");
    expect(result.rows).toEqual([{ container_id: "abc1" }]);
    const upper = await store.query("SELECT container_id FROM containers WHERE container_id LIKE 'AB%' ORDER BY 1");
    expect(upper.rows).toEqual([{ container_id: "ABD2" }]);
  });

  it("query: the plan of LIKE 'x%' on container_id is a SEARCH of the primary key", async () => {
    const plan = await store.query(
      "EXPLAIN QUERY PLAN SELECT container_id FROM containers WHERE container_id LIKE 'ab%'",
    );
    const details = plan.rows.map((r) => String(r.detail)).join("\n");
    expect(details).toMatch(/SEARCH containers USING .*\(container_id>\? AND container_id<\?\)/);
    expect(details).not.toMatch(/\bSCAN containers\b/);
  });

  it("query: LIKE with `_` escaped matches it literally and is still a SEARCH", async () => {
    const sql = "SELECT container_id FROM containers WHERE container_id LIKE 'c\\_%' ESCAPE '\\' ORDER BY 1";
    expect((await store.query(sql)).rows).toEqual([{ container_id: "c_x" }]);
    const plan = await store.query(`EXPLAIN QUERY PLAN ${sql}`);
    expect(plan.rows.map((r) => String(r.detail)).join("\n")).toMatch(/SEARCH containers USING /);
  });
});
