/**
 * `query`: the README's example queries against a generated root (checked
 * against the state files read directly), output formats, parameters, the
 * read-only fence, and case-sensitive indexed LIKE.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRoot } from "../../src/generate/generate.js";
import { goTime, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";
import { CLI, ensureBuilt, errorLine, REPO_ROOT, runCli } from "./cli.js";

/** The five example queries in the README, verbatim. */
const README_QUERIES = {
  perStatus: "SELECT status, count(*) AS containers FROM containers GROUP BY status ORDER BY containers DESC, status",
  perNamespace:
    "SELECT pod_namespace, count(DISTINCT sandbox_id) AS sandboxes, count(*) AS containers FROM containers GROUP BY pod_namespace ORDER BY containers DESC, pod_namespace",
  biggestSandboxes:
    "SELECT sandbox_id, pod_namespace, pod_name, container_count FROM sandboxes ORDER BY container_count DESC, sandbox_id LIMIT 5",
  lastHour:
    "SELECT container_id, created_at FROM containers WHERE unixepoch(created_at) >= unixepoch('now', '-1 hour') ORDER BY created_at DESC",
  byAnnotation: `SELECT json_extract(annotations, '$."io.kubernetes.cri.container-name"') AS name, count(*) AS containers FROM containers WHERE json_extract(annotations, '$."io.kubernetes.cri.container-type"') = 'container' GROUP BY name ORDER BY containers DESC, name`,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: state files read as plain JSON, the test's own oracle
type Doc = Record<string, any>;

let root: string;
/** Every state file in root, parsed directly (not through the code under test). */
let docs: Doc[];
let recent: { id: string; createdAt: string }[];

beforeAll(async () => {
  ensureBuilt();
  root = path.join(makeTempDir("cli-query"), "root");
  await generateRoot(root, 300, { seed: 4 });
  const now = Date.now();
  // Generated containers were created months ago: add two within the last hour and one just before it.
  recent = [
    { id: "recent-10m", createdAt: goTime(new Date(now - 10 * 60_000)) },
    { id: "recent-50m", createdAt: goTime(new Date(now - 50 * 60_000)) },
  ];
  for (const r of recent) writeState(root, { containerId: r.id, createdAt: r.createdAt });
  writeState(root, { containerId: "older-2h", createdAt: goTime(new Date(now - 2 * 3_600_000)) });
  docs = fs
    .readdirSync(root)
    .filter((n) => n.endsWith(".state"))
    .map((n) => JSON.parse(fs.readFileSync(path.join(root, n), "utf8")) as Doc);
});

afterAll(removeTempDirs);

function queryJson(sql: string, ...args: string[]): Record<string, unknown>[] {
  const r = runCli(["--root", root, "query", sql, "--format", "json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** countBy groups docs by key and returns [key, count] sorted by count desc, then key. */
function countBy(items: Doc[], key: (d: Doc) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const d of items) m.set(key(d), (m.get(key(d)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe("the README's example queries", () => {
  it("README: shows each example query verbatim", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    for (const sql of Object.values(README_QUERIES)) expect(readme).toContain(sql);
  });

  it("containers per status", () => {
    expect(queryJson(README_QUERIES.perStatus)).toEqual(
      countBy(docs, (d) => d.status).map(([status, containers]) => ({ status, containers })),
    );
  });

  it("containers and sandboxes per pod namespace", () => {
    const expected = countBy(docs, (d) => d.sandbox.namespace).map(([ns, containers]) => ({
      pod_namespace: ns,
      sandboxes: new Set(docs.filter((d) => d.sandbox.namespace === ns).map((d) => d.sandbox.id)).size,
      containers,
    }));
    expect(queryJson(README_QUERIES.perNamespace)).toEqual(expected);
  });

  it("sandboxes with the most containers", () => {
    const expected = countBy(docs, (d) => d.sandbox.id)
      .slice(0, 5)
      .map(([sid, count]) => {
        const d = docs.find((x) => x.id === sid && x.sandbox.id === sid)!;
        return {
          sandbox_id: sid,
          pod_namespace: d.sandbox.namespace,
          pod_name: d.sandbox.podName,
          container_count: count,
        };
      });
    expect(queryJson(README_QUERIES.biggestSandboxes)).toEqual(expected);
  });

  it("containers created in the last hour", () => {
    expect(queryJson(README_QUERIES.lastHour)).toEqual(
      recent.map((r) => ({ container_id: r.id, created_at: r.createdAt })),
    );
  });

  it("containers by annotation (keys with dots quoted in the JSON path)", () => {
    const subs = docs.filter((d) => d.spec.annotations["io.kubernetes.cri.container-type"] === "container");
    expect(subs.length).toBeGreaterThan(0);
    expect(queryJson(README_QUERIES.byAnnotation)).toEqual(
      countBy(subs, (d) => d.spec.annotations["io.kubernetes.cri.container-name"]).map(([name, containers]) => ({
        name,
        containers,
      })),
    );
  });
});

describe("query output and parameters", () => {
  it("--format table: columns aligned with two spaces, NULL shown, last column unpadded", () => {
    const r = runCli(["--root", root, "query", "SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'long-key', NULL"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("k         v\na         1\nlong-key  NULL\n");
  });

  it("--format csv: RFC 4180 quoting, NULL as an empty field", () => {
    const r = runCli([
      "--root",
      root,
      "query",
      `SELECT 'a,b' AS x, 'say "hi"' AS y, NULL AS z, 3 AS n`,
      "--format",
      "csv",
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('x,y,z,n\n"a,b","say ""hi""",,3\n');
  });

  it("--format json: an empty result is []", () => {
    expect(queryJson("SELECT container_id FROM containers WHERE 0")).toEqual([]);
  });

  it("--param binds ? in order, --named binds @name, :name and $name", () => {
    const inDefault = docs.filter((d) => d.sandbox.namespace === "default");
    expect(
      queryJson(
        "SELECT count(*) AS n FROM containers WHERE pod_namespace = ? AND status = ?",
        "--param",
        "default",
        "--param",
        "running",
      ),
    ).toEqual([{ n: inDefault.filter((d) => d.status === "running").length }]);
    expect(
      queryJson(
        "SELECT count(*) AS n FROM containers WHERE pod_namespace = @ns OR pod_namespace = :ns2 OR status = $st",
        "--named",
        "ns=default",
        "--named",
        "ns2=kube-system",
        "--named",
        "st=paused",
      ),
    ).toEqual([
      {
        n: docs.filter((d) => ["default", "kube-system"].includes(d.sandbox.namespace) || d.status === "paused").length,
      },
    ]);
    const bad = runCli(["--root", root, "query", "SELECT @a", "--named", "a"]);
    expect(bad.status).toBe(2);
    expect(errorLine(bad.stderr)).toContain("expected key=value");
  });
});

describe("the read-only fence", () => {
  it("writes, ATTACH, pragma changes and transactions fail with exit 1 and ERR_READONLY_QUERY, changing nothing", () => {
    const attached = path.join(makeTempDir("cli-attach"), "other.db");
    const refused = [
      "INSERT INTO meta (key, value) VALUES ('k', 'v')",
      "UPDATE containers SET status = 'stopped'",
      "DELETE FROM containers",
      "WITH x AS (SELECT 1) DELETE FROM containers",
      "DROP TABLE containers",
      "CREATE TABLE t (x)",
      `ATTACH DATABASE '${attached}' AS other`,
      "PRAGMA query_only = 0",
      "PRAGMA journal_mode = DELETE",
      "BEGIN IMMEDIATE",
      "VACUUM",
    ];
    const before = queryJson("SELECT count(*) AS n, sum(status = 'running') AS running FROM containers");
    for (const sql of refused) {
      const r = runCli(["--root", root, "query", sql, "--format", "json"]);
      expect(r.status, sql).toBe(1);
      expect(JSON.parse(r.stdout).error.code, sql).toBe("ERR_READONLY_QUERY");
      expect(errorLine(r.stderr)).toContain("runsc-index: query ");
    }
    expect(fs.existsSync(attached)).toBe(false);
    expect(queryJson("SELECT count(*) AS n, sum(status = 'running') AS running FROM containers")).toEqual(before);
  });

  it("LIKE 'x%' is case-sensitive and searches the primary key", () => {
    const id = docs.map((d) => d.id as string).find((i) => /^[0-9]*[a-f]/.test(i.slice(0, 3)))!;
    const prefix = id.slice(0, 3);
    const expected = docs.filter((d) => (d.id as string).startsWith(prefix)).length;
    expect(queryJson(`SELECT count(*) AS n FROM containers WHERE container_id LIKE '${prefix}%'`)).toEqual([
      { n: expected },
    ]);
    expect(
      queryJson(`SELECT count(*) AS n FROM containers WHERE container_id LIKE '${prefix.toUpperCase()}%'`),
    ).toEqual([{ n: 0 }]);
    const plan = queryJson(
      `EXPLAIN QUERY PLAN SELECT container_id FROM containers WHERE container_id LIKE '${prefix}%'`,
    )
      .map((r) => String(r.detail))
      .join("\n");
    expect(plan).toMatch(/^SEARCH containers USING .*\(container_id>\? AND container_id<\?\)/);
    expect(plan).not.toContain("SCAN");
  });

  it("query: reflects a state file rewritten in place just before it ran", () => {
    const name = fs.readdirSync(root).find((n) => n.startsWith("recent-10m_sandbox:"))!;
    const file = path.join(root, name);
    const text = fs.readFileSync(file, "utf8");
    try {
      fs.writeFileSync(file, text.replace('"owner":""', '"owner":"someone-else"'));
      expect(queryJson("SELECT owner FROM containers WHERE container_id = 'recent-10m'")).toEqual([
        { owner: "someone-else" },
      ]);
    } finally {
      fs.writeFileSync(file, text);
    }
  });

  it("query: integers beyond 2^53 keep every digit (file_ino can be that large)", () => {
    const sql = "SELECT 9007199254740993 AS big";
    expect(runCli(["--root", root, "query", sql, "--format", "json"]).stdout).toBe('[{"big":9007199254740993}]\n');
    expect(runCli(["--root", root, "query", sql, "--format", "csv"]).stdout).toBe("big\n9007199254740993\n");
  });
});

const ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";
const upTo = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})`;

describe("query errors (issue 12)", () => {
  it("a typo is ERR_INVALID_ARGUMENT, exit 2, with SQLite's message and the offset", () => {
    const r = runCli(["--root", root, "query", "SELEKT 1", "--format", "json"]);
    expect(r.status).toBe(2);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe("ERR_INVALID_ARGUMENT");
    expect(error.message).toContain('near "SELEKT": syntax error at offset 0');
    const sql = "SELECT * FROM containers WHERE status = 'running' ORDER status";
    const inside = runCli(["--root", root, "query", sql]);
    expect(inside.status).toBe(2);
    expect(errorLine(inside.stderr)).toContain(`near "status": syntax error at offset ${sql.lastIndexOf("status")}`);
  });

  it("a statement that would write is ERR_READONLY_QUERY, exit 1", () => {
    const r = runCli(["--root", root, "query", "PRAGMA user_version = 7", "--format", "json"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe("ERR_READONLY_QUERY");
  });
});

describe("bounded queries (issue 10)", () => {
  it("--timeout: an endless recursive CTE stops with ERR_QUERY_TIMEOUT, exit 1, even inside one SQLite step", () => {
    const began = Date.now();
    const r = runCli(
      ["--root", root, "query", `${ENDLESS} SELECT count(*) FROM c`, "--timeout", "500", "--format", "json"],
      {
        timeoutMs: 60_000,
      },
    );
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe("ERR_QUERY_TIMEOUT");
    expect(errorLine(r.stderr)).toContain("time limit of 500 ms");
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
  });

  it("--timeout and --limit take whole numbers", () => {
    expect(runCli(["--root", root, "query", "SELECT 1", "--timeout", "0"]).status).toBe(2);
    expect(runCli(["--root", root, "query", "SELECT 1", "--limit", "x"]).status).toBe(2);
  });

  it("--limit N prints N rows of an endless result", () => {
    const r = runCli(["--root", root, "query", `${ENDLESS} SELECT x FROM c`, "--limit", "3", "--format", "csv"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("x\n1\n2\n3\n");
  });

  it("json and csv stream every row; a table prints its header once, widths per window of 1000 rows", () => {
    const sql = `${upTo(2500)} SELECT x, printf('%.*c', x % 7, 'w') AS w FROM c`;
    const json = runCli(["--root", root, "query", sql, "--format", "json"]);
    const rows = JSON.parse(json.stdout) as { x: number; w: string }[];
    expect(rows.length).toBe(2500);
    expect(rows[2499]).toEqual({ x: 2500, w: "w".repeat(2500 % 7) });
    const csv = runCli(["--root", root, "query", sql, "--format", "csv"]).stdout.split("\n");
    expect(csv.length).toBe(2502); // header, rows, and the empty string after the last "\n"
    const wide = `${upTo(2500)} SELECT CASE WHEN x <= 1000 THEN 'a' ELSE 'bbbbbbbbbb' END AS k, x FROM c`;
    const table = runCli(["--root", root, "query", wide]).stdout.split("\n");
    expect(table.length).toBe(2502);
    expect(table.filter((l) => l.startsWith("k ")).length).toBe(1);
    expect(table[0]).toBe("k  x");
    expect(table[1]).toBe("a  1"); // the first window's widths are its own
    expect(table[1001]).toBe("bbbbbbbbbb  1001");
  });

  it("a 1 GiB result streams through a pipe with the process's memory bounded", async () => {
    // 1024 rows of 1 MiB each.
    const sql = `${upTo(1024)} SELECT x, hex(zeroblob(524288)) AS payload FROM c`;
    const rssFile = path.join(makeTempDir("cli-rss"), "rss");
    const child = spawn(
      "/usr/bin/time",
      ["-f", "%M", "-o", rssFile, process.execPath, CLI, "--root", root, "query", sql, "--format", "csv"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let bytes = 0;
    let lines = 0;
    child.stdout.on("data", (d: Buffer) => {
      bytes += d.length;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(lines).toBe(1025);
    expect(bytes).toBeGreaterThan(1024 * 1024 * 1024);
    const peakKiB = Number(fs.readFileSync(rssFile, "utf8").trim().split("\n").pop());
    // Node itself takes ~50 MB; a buffered result would take over 2 GB (UTF-16 strings).
    expect(peakKiB).toBeGreaterThan(10_000);
    expect(peakKiB).toBeLessThan(400 * 1024);
  }, 300_000);
});
