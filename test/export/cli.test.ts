/**
 * The command line of the fleet features, run as a user does: `export`,
 * `export --drop-host`, `watch --export --metrics` scraped over HTTP, and
 * READY=1 to $NOTIFY_SOCKET as systemd's Type=notify expects.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, expect, it } from "vitest";
import { ensureBuilt, killRunningClis, runCliAsync, startCli } from "../cli/cli.js";
import { exportedRows, indexRows, waitForEqual } from "../helpers/pg-compare.js";
import { describePostgres } from "../helpers/postgres.js";
import { makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

beforeAll(ensureBuilt);
afterEach(async () => {
  await killRunningClis();
  removeTempDirs();
});

let dbCount = 0;

/** scrape GETs the metrics page and returns sample name{labels} -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describePostgres("fleet command line", (pg) => {
  const freshDb = () => pg().createDatabase(`cli_${++dbCount}`);

  it("export --to copies the host once and reports it; a second run writes nothing; --drop-host removes it", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    writeState(root, { containerId: "e1" });
    const first = await runCliAsync(["--root", root, "export", "--to", url, "--host", "node-1"]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(
      /^exported host "node-1" to postgres:\/\/postgres@localhost\/cli_\d+\?host=.*: 3 containers, 3 written, 0 deleted, 0 unchanged in \d+\.\d\d s\n$/,
    );
    expect(await exportedRows(url, "node-1")).toEqual(indexRows(root));
    const again = await runCliAsync(["--root", root, "export", "--to", url, "--host", "node-1", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ host: "node-1", rows: 3, upserted: 0, deleted: 0, unchanged: 3 });
    const drop = await runCliAsync(["--root", root, "export", "--to", url, "--drop-host", "node-1"]);
    expect(drop.stdout).toMatch(/^dropped host "node-1": 3 containers deleted from /);
    expect(await exportedRows(url, "node-1")).toEqual([]);
  });

  it("export: a password in the URL is masked in the error; a non-postgres URL is a usage error", async () => {
    const root = makeRoot({ fixtures: true });
    const url = pg().tcpUrl.replace("postgres@", "postgres:hunter2-XYZ@");
    const r = await runCliAsync(["--root", root, "export", "--to", url]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^runsc-index: connecting to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: password authentication failed/,
    );
    expect(r.stdout + r.stderr).not.toContain("hunter2-XYZ");
    const bad = await runCliAsync(["--root", root, "export", "--to", "mysql://u:hunter2-XYZ@h/db"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      'runsc-index: export target "mysql://u:***@h/db" is not a postgres:// or postgresql:// URL\n',
    );
  });

  it("watch --export --metrics: the copy follows the root, and /metrics reports the root's counts", async () => {
    const url = freshDb();
    const root = makeRoot({ fixtures: true });
    for (let i = 0; i < 4; i++) writeState(root, { containerId: `m${i}`, status: "stopped" });
    fs.writeFileSync(statePath(root, "broken", "broken"), "{not json");
    const watch = startCli(["--root", root, "watch", "--export", url, "--host", "w", "--metrics", "127.0.0.1:0"]);
    const [, metricsUrl] = (await watch.waitFor("stderr", /^metrics at (http:\S+)$/m)) as RegExpMatchArray;
    await watch.waitFor("stderr", /^exporting as host "w"$/m);
    await waitForEqual(url, "w", root);
    writeState(root, { containerId: "m9", status: "running" });
    fs.rmSync(statePath(root, "m0", "m0"));
    await waitForEqual(url, "w", root);

    const m = await scrape(metricsUrl!);
    for (const name of m.keys()) expect(name).toMatch(/^runsc_index_[a-z_]+(\{.*\})?$/);
    // The root: fixtures (running root + created sub), m1..m3 stopped, m9 running, one invalid file.
    expect(m.get('runsc_index_containers{status="running"}')).toBe(2);
    expect(m.get('runsc_index_containers{status="created"}')).toBe(1);
    expect(m.get('runsc_index_containers{status="stopped"}')).toBe(3);
    expect(m.get('runsc_index_containers{status="invalid"}')).toBe(1);
    // Every state file written from the fixture is in the fixture's pod namespace; the invalid one counts in none.
    expect(m.get('runsc_index_containers_by_namespace{namespace="default"}')).toBe(6);
    expect(m.get("runsc_index_invalid_files")).toBe(1);
    expect(m.get('runsc_index_events_total{type="changed"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('runsc_index_events_total{type="removed"}')).toBe(1);
    expect(m.get("runsc_index_drains_total")).toBeGreaterThan(0);
    expect(m.get("runsc_index_last_drain_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(m.get("runsc_index_last_drain_age_seconds")).toBeLessThan(30);
    expect(m.get('runsc_index_reconcile_duration_seconds_count{kind="initial"}')).toBe(1);
    expect(m.get('runsc_index_export_resyncs_total{reason="connect"}')).toBe(1);
    expect(m.get('runsc_index_export_rows_total{op="delete"}')).toBe(1);
    expect(m.get("runsc_index_export_lag_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(m.get("runsc_index_export_connected")).toBe(1);
    expect(m.get("runsc_index_export_errors_total")).toBe(0);
    watch.child.kill("SIGTERM");
    expect(await watch.exited).toEqual({ status: 0, signal: null });
  });
});

const python = spawnSync("python3", ["-c", "import socket; socket.AF_UNIX"]).status === 0;

it.skipIf(!python)(
  "watch sends READY=1 to $NOTIFY_SOCKET once the first pass is done, STOPPING=1 on SIGTERM",
  async () => {
    const dir = makeTempDir("notify");
    const socket = path.join(dir, "notify.sock");
    const received = path.join(dir, "received");
    // A real unix datagram server (node's dgram has none), as systemd listens: it appends what it gets.
    const server = spawn(
      "python3",
      [
        "-c",
        `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); open(sys.argv[2]+".up","w").close()
while True:
  d=s.recv(4096)
  with open(sys.argv[2],"ab") as f: f.write(d+b"\\n--\\n")`,
        socket,
        received,
      ],
      { stdio: "ignore" },
    );
    try {
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(`${received}.up`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const root = makeRoot({ fixtures: true });
      const watch = startCli(["--root", root, "watch"], { env: { NOTIFY_SOCKET: socket } });
      await watch.waitFor("stderr", /^watching /m);
      const readUntil = async (pattern: RegExp) => {
        const until = Date.now() + 10_000;
        for (;;) {
          const text = fs.existsSync(received) ? fs.readFileSync(received, "utf8") : "";
          if (pattern.test(text) || Date.now() > until) return text;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      expect(await readUntil(/READY=1/)).toMatch(
        new RegExp(`^READY=1\nSTATUS=watching ${root}\nMAINPID=${watch.child.pid}\n--\n$`),
      );
      watch.child.kill("SIGTERM");
      expect(await watch.exited).toEqual({ status: 0, signal: null });
      expect(await readUntil(/STOPPING=1/)).toMatch(/--\nSTOPPING=1\n--\n$/);
    } finally {
      server.kill("SIGKILL");
    }
  },
);
