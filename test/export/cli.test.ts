/**
 * The command line of the fleet features, run as a user does: `export`,
 * `export --drop-host`, `watch --export --metrics` scraped over HTTP, and
 * READY=1 to $NOTIFY_SOCKET as systemd's Type=notify expects.
 */

import fs from "node:fs";
import { createRequire } from "node:module";
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
    expect(m.get('runsc_index_events_total{type="created"}')).toBe(1);
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

/**
 * A unix datagram socket bound at `file`, as systemd listens on NOTIFY_SOCKET
 * (node's dgram has no unix sockets): libc through koffi directly, not
 * through the code under test. receive() returns the datagrams so far.
 */
function listenDatagrams(file: string): { receive(): string[]; close(): void } {
  const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  const lib = koffi.load("libc.so.6");
  const socket = lib.func("int socket(int, int, int)");
  const bind = lib.func("int bind(int, const uint8_t *, uint32_t)");
  const recv = lib.func("long recv(int, _Out_ uint8_t *, size_t, int)");
  const close = lib.func("int close(int)");
  const fd = socket(1 /* AF_UNIX */, 2 /* SOCK_DGRAM */, 0) as number;
  const name = Buffer.from(`${file}\0`);
  const addr = Buffer.alloc(2 + name.length);
  addr.writeUInt16LE(1, 0);
  name.copy(addr, 2);
  if ((bind(fd, addr, addr.length) as number) !== 0) throw new Error(`bind ${file}: errno ${koffi.errno()}`);
  const got: string[] = [];
  return {
    receive() {
      const buf = Buffer.alloc(4096);
      for (;;) {
        const n = Number(recv(fd, buf, buf.length, 0x40 /* MSG_DONTWAIT */));
        if (n < 0) return got;
        got.push(buf.subarray(0, n).toString());
      }
    },
    close: () => close(fd),
  };
}

it("watch sends READY=1 to $NOTIFY_SOCKET once the first pass is done, STOPPING=1 on SIGTERM", async () => {
  const socketPath = path.join(makeTempDir("notify"), "notify.sock");
  const listener = listenDatagrams(socketPath);
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 10_000;
    while (!pattern.test(listener.receive().join("\n--\n")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return listener.receive();
  };
  try {
    const root = makeRoot({ fixtures: true });
    const watch = startCli(["--root", root, "watch"], { env: { NOTIFY_SOCKET: socketPath } });
    await watch.waitFor("stderr", /^watching /m);
    expect(await until(/READY=1/)).toEqual([`READY=1\nSTATUS=watching ${root}\nMAINPID=${watch.child.pid}`]);
    watch.child.kill("SIGTERM");
    expect(await watch.exited).toEqual({ status: 0, signal: null });
    expect((await until(/STOPPING=1/)).slice(1)).toEqual(["STOPPING=1"]);
  } finally {
    listener.close();
  }
});
