/**
 * The export to PostgreSQL through the library, against a private server:
 * the copy equals the index after every change, re-running changes nothing,
 * hosts do not touch each other's rows, and a live export survives a dropped
 * connection and a server restart.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { dropHost, openStore, type Store } from "../../src/index.js";
import { type Comparable, exportedRows, indexRows, pgQuery, waitForEqual } from "../helpers/pg-compare.js";
import { describePostgres, PASSWORD } from "../helpers/postgres.js";
import { FIXTURE_STATE_NAMES, makeRoot, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

const stores: Store[] = [];
function open(root: string): Store {
  const s = openStore({ root });
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

let dbCount = 0;

describePostgres("export to PostgreSQL", (pg) => {
  const freshDb = () => pg().createDatabase(`export_${++dbCount}`);

  it("copies the index once: every column equal; a second run writes nothing", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    for (let i = 0; i < 50; i++) writeState(root, { containerId: `c${i}`, status: i % 2 ? "running" : "stopped" });
    const store = open(root);
    const first = await store.export({ to: url, host: "h1" });
    expect(first).toMatchObject({ host: "h1", rows: 52, upserted: 52, deleted: 0, unchanged: 0 });
    expect(await exportedRows(url, "h1")).toEqual(indexRows(root));
    const seen = await pgQuery(url, "SELECT max(seen_at) AS t FROM runsc_containers");
    const again = await store.export({ to: url, host: "h1" });
    expect(again).toMatchObject({ rows: 52, upserted: 0, deleted: 0, unchanged: 52 });
    expect(await pgQuery(url, "SELECT max(seen_at) AS t FROM runsc_containers")).toEqual(seen);
    expect(await exportedRows(url, "h1")).toEqual(indexRows(root));
  });

  it("a later run applies additions, changes and removals", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    writeState(root, { containerId: "gone" });
    // Files written long before the pass: none is re-read as racy by the next one (which would count it upserted).
    const past = new Date(Date.now() - 60_000);
    for (const name of fs.readdirSync(root))
      if (name.endsWith(".state")) fs.utimesSync(path.join(root, name), past, past);
    const store = open(root);
    await store.export({ to: url, host: "h1" });
    fs.rmSync(statePath(root, "gone", "gone"));
    writeState(root, { containerId: "new1", status: "created" });
    writeState(root, { containerId: FIXTURE_STATE_NAMES[0]!.split("_")[0]!, status: "stopped" });
    const r = await store.export({ to: url, host: "h1" });
    expect(r).toMatchObject({ rows: 3, deleted: 1, upserted: 2 });
    expect(await exportedRows(url, "h1")).toEqual(indexRows(root));
  });

  it("several hosts export into one database at once without touching each other's rows; one can be dropped", async () => {
    const url = freshDb();
    const roots = [0, 1, 2].map(() => makeRoot({ fixtures: true }));
    roots.forEach((root, h) => {
      for (let i = 0; i <= h * 10; i++) writeState(root, { containerId: `h${h}c${i}` });
    });
    // The same container IDs on every host (the fixtures): keyed by host, they do not collide.
    await Promise.all(roots.map((root, h) => open(root).export({ to: url, host: `host-${h}` })));
    for (const [h, root] of roots.entries()) expect(await exportedRows(url, `host-${h}`)).toEqual(indexRows(root));
    expect(await dropHost(url, "host-1")).toBe(13);
    expect(await exportedRows(url, "host-1")).toEqual([]);
    expect(await exportedRows(url, "host-0")).toEqual(indexRows(roots[0]!));
    expect(await exportedRows(url, "host-2")).toEqual(indexRows(roots[2]!));
    expect(await pgQuery(url, "SELECT host FROM runsc_hosts ORDER BY host")).toEqual([
      { host: "host-0" },
      { host: "host-2" },
    ]);
  });

  it("the prefix index serves a LIKE 'prefix%' lookup on container_id (EXPLAIN)", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    await open(root).export({ to: url, host: "h1" });
    // Plenty of other rows, so the planner prefers the index on its own.
    await pgQuery(
      url,
      `INSERT INTO runsc_containers (host, root, container_id, sandbox_id, is_root, pending)
       SELECT 'filler', '/r', md5(i::text), md5(i::text), true, false FROM generate_series(1, 20000) i`,
    );
    await pgQuery(url, "ANALYZE runsc_containers");
    const plan = await pgQuery<{ "QUERY PLAN": string }>(
      url,
      "EXPLAIN SELECT host, container_id FROM runsc_containers WHERE container_id LIKE '9f447d%'",
    );
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toMatch(
      /Index (Only )?Scan.*runsc_containers_container_id_prefix|Bitmap Index Scan on runsc_containers_container_id_prefix/,
    );
    expect(text).not.toMatch(/Seq Scan/);
    const found = await pgQuery(url, "SELECT host FROM runsc_containers WHERE container_id LIKE '9f447d%'");
    expect(found).toEqual([{ host: "h1" }]);
  });

  it("the per-sandbox view counts each host's sandboxes", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    await open(root).export({ to: url, host: "h1" });
    const rows = await pgQuery(
      url,
      "SELECT host, sandbox_id, container_count::int AS n, has_root FROM runsc_sandboxes",
    );
    expect(rows).toEqual([{ host: "h1", sandbox_id: FIXTURE_STATE_NAMES[0]!.split("_")[0], n: 2, has_root: true }]);
  });

  it("watch({ export }) keeps the copy equal to the index after every change, including removals", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    const store = open(root);
    const watcher = await store.watch({ export: { to: url, host: "live" } });
    try {
      await waitForEqual(url, "live", root);
      const a1 = (rows: Comparable[]) => rows.find((r) => r.container_id === "a1")?.status;
      writeState(root, { containerId: "a1", status: "created" });
      await waitForEqual(url, "live", root, (rows) => a1(rows) === "created");
      writeState(root, { containerId: "a1", status: "running" });
      await waitForEqual(url, "live", root, (rows) => a1(rows) === "running");
      expect(a1(await exportedRows(url, "live"))).toBe("running");
      fs.rmSync(statePath(root, "a1", "a1"));
      await waitForEqual(url, "live", root, (rows) => a1(rows) === undefined);
      expect(await exportedRows(url, "live")).toHaveLength(2);
    } finally {
      await watcher.stop();
    }
  });

  it("a live export survives a dropped connection and a server restart: nothing lost, nothing duplicated", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    for (let i = 0; i < 20; i++) writeState(root, { containerId: `k${i}` });
    const store = open(root);
    const errors: string[] = [];
    const watcher = await store.watch({
      export: { to: url, host: "r", retryMs: { min: 50, max: 500 }, onError: (e) => errors.push(e.message) },
    });
    try {
      await waitForEqual(url, "r", root);
      const terminated = pg().psql(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runsc-index') t",
      );
      expect(Number(terminated)).toBe(1);
      for (let i = 0; i < 5; i++) fs.rmSync(statePath(root, `k${i}`, `k${i}`));
      writeState(root, { containerId: "after-drop" });
      await waitForEqual(url, "r", root);

      pg().pause();
      for (let i = 5; i < 10; i++) fs.rmSync(statePath(root, `k${i}`, `k${i}`));
      for (let i = 0; i < 10; i++) writeState(root, { containerId: `down${i}`, status: "running" });
      await new Promise((r) => setTimeout(r, 300)); // the exporter fails and backs off meanwhile
      pg().resume();
      await waitForEqual(url, "r", root, undefined, 30_000);
      expect(errors.length).toBeGreaterThan(0);
      const dup = await pgQuery(
        url,
        "SELECT count(*)::int AS n, count(DISTINCT (container_id, sandbox_id))::int AS d FROM runsc_containers WHERE host = 'r'",
      );
      expect(dup).toEqual([{ n: 23, d: 23 }]);
    } finally {
      await watcher.stop();
    }
  });

  it("a resync (after lost inotify events) repairs rows changed behind the exporter's back", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    for (let i = 0; i < 5; i++) writeState(root, { containerId: `s${i}` });
    const store = open(root);
    const watcher = await store.watch({ export: { to: url, host: "rs" } });
    try {
      await waitForEqual(url, "rs", root);
      await pgQuery(url, "DELETE FROM runsc_containers WHERE host = 'rs' AND container_id = 's1'");
      await pgQuery(url, "UPDATE runsc_containers SET status = 'paused', file_size = 1 WHERE container_id = 's2'");
      await pgQuery(
        url,
        `INSERT INTO runsc_containers (host, root, container_id, sandbox_id, is_root, pending) VALUES ('rs', '/x', 'ghost', 'ghost', true, false)`,
      );
      await pgQuery(
        url,
        `INSERT INTO runsc_containers (host, root, container_id, sandbox_id, is_root, pending) VALUES ('other', '/x', 'ghost', 'ghost', true, false)`,
      );
      watcher.exporter!.eventsLost();
      await waitForEqual(url, "rs", root);
      expect(await pgQuery(url, "SELECT host FROM runsc_containers WHERE container_id = 'ghost'")).toEqual([
        { host: "other" },
      ]);
    } finally {
      await watcher.stop();
    }
  });

  it("libpq's PGPASSWORD works, and a password in the URL never appears in an error", async () => {
    freshDb();
    const root = makeRoot({ fixtures: true });
    const store = open(root);
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = PASSWORD;
    try {
      const r = await store.export({ to: pg().tcpUrl, host: "env" });
      expect(r.rows).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
    const wrong = pg().tcpUrl.replace("postgres@", "postgres:not-the-Pa55word@");
    const err = (await store.export({ to: wrong, host: "env" }).then(
      () => new Error("exported with a wrong password"),
      (e: unknown) => e,
    )) as Error & { code?: string };
    expect(err).toMatchObject({ code: "ERR_IO" });
    expect(err.message).toMatch(/password authentication failed/);
    expect(err.message).toContain("postgres:***@127.0.0.1");
    expect(err.message).not.toContain("not-the-Pa55word");
  });
});
