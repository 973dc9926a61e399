/**
 * Figures 8 and 9 (issue 14): the export to PostgreSQL, against a private
 * server started for the size (bench/postgres-server.ts).
 *
 * - Initial export: store.export of the whole root into an empty database
 *   (connect, migrate, diff, write), then a second run that finds nothing to
 *   write (shown as detail). Target at n = 100,000: under 10 s.
 * - Change to row: `runsc-index watch --export` runs as a process while this
 *   one rewrites 50 state files a second in place (a new `owner` each time);
 *   a trigger in the bench database NOTIFYs every row written, and the time
 *   from the write to the notification is the latency. Target: p99 < 500 ms.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Store } from "../../src/index.js";
import { trackChild } from "../cleanup.js";
import type { FigureRow, SizeContext } from "../figure.js";
import { pgBinDir, startPostgres } from "../postgres-server.js";
import { cliScript } from "../processes.js";
import { formatMicros, median, p99 } from "../stats.js";

const INITIAL_TARGET_S = 10;
const RATE_PER_S = 50;
const CHANGES = 500;
const LATENCY_TARGET_MS = 500;
const SETTLE_MS = 5_000;

/** measureExport returns both export rows, or none (with a note on stderr) when PostgreSQL is missing. */
export async function measureExport(ctx: SizeContext, store: Store): Promise<FigureRow[]> {
  if (pgBinDir() === undefined) {
    process.stderr.write("  export figures skipped: PostgreSQL is not installed\n");
    return [];
  }
  const server = await startPostgres();
  try {
    const url = server.createDatabase("bench");
    const initial = await measureInitial(ctx, store, url);
    const latency = await measureChangeToRow(ctx, url);
    return [initial, latency];
  } finally {
    server.stop();
  }
}

async function measureInitial(ctx: SizeContext, store: Store, url: string): Promise<FigureRow> {
  let start = process.hrtime.bigint();
  const first = await store.export({ to: url, host: "bench" });
  const firstUs = Number(process.hrtime.bigint() - start) / 1000;
  start = process.hrtime.bigint();
  const again = await store.export({ to: url, host: "bench" });
  const againUs = Number(process.hrtime.bigint() - start) / 1000;
  if (first.rows !== ctx.n || again.upserted !== 0) {
    throw new Error(`export: ${first.rows} rows of ${ctx.n}, then ${again.upserted} rewritten (want 0)`);
  }
  return {
    key: "export-initial",
    figure: "initial export to PostgreSQL (store.export)",
    n: ctx.n,
    ours: { value: firstUs, unit: "us" },
    oursDetail: `re-run with nothing to write ${formatMicros(againUs)}`,
    target: `< ${INITIAL_TARGET_S} s at n = 100,000`,
    ...(ctx.n === 100_000 ? { met: firstUs < INITIAL_TARGET_S * 1e6 } : {}),
    notes: [
      `${first.upserted} rows written in batches of 5,000 (one INSERT ... SELECT FROM unnest(...) ON CONFLICT each)`,
    ],
  };
}

const TRIGGER_SQL = `
CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('bench_rows', NEW.owner); RETURN NEW; END $$;
CREATE TRIGGER bench_notify AFTER INSERT OR UPDATE ON runsc_containers FOR EACH ROW EXECUTE FUNCTION bench_notify();`;

async function measureChangeToRow(ctx: SizeContext, url: string): Promise<FigureRow> {
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  const arrived = new Map<string, bigint>();
  listener.on("notification", (n) => {
    if (n.payload?.startsWith("bench-")) arrived.set(n.payload, process.hrtime.bigint());
  });
  let watch: ChildProcess | undefined;
  try {
    await listener.query(TRIGGER_SQL);
    await listener.query("LISTEN bench_rows");
    watch = await startWatch(ctx, url, listener);
    const sent = new Map<string, bigint>();
    const files = ctx.containers
      .slice(0, CHANGES)
      .map((c) => join(ctx.root, `${c.containerId}_sandbox:${c.sandboxId}.state`));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < files.length; i++) {
      const due = t0 + BigInt(Math.round((i * 1e9) / RATE_PER_S));
      const wait = Number(due - process.hrtime.bigint()) / 1e6;
      if (wait > 0) await sleep(wait);
      const marker = `bench-${i}`;
      const text = readFileSync(files[i]!, "utf8");
      const next = /"owner":"[^"]*"/.test(text)
        ? text.replace(/"owner":"[^"]*"/, `"owner":"${marker}"`)
        : text.replace(/^\{/, `{"owner":"${marker}",`);
      sent.set(marker, process.hrtime.bigint());
      writeFileSync(files[i]!, next); // in place, as runsc saves
    }
    const settleBy = Date.now() + SETTLE_MS;
    while (arrived.size < sent.size && Date.now() < settleBy) await sleep(20);
    const latenciesUs = [...sent].flatMap(([m, at]) => {
      const got = arrived.get(m);
      return got === undefined ? [] : [Number(got - at) / 1000];
    });
    latenciesUs.sort((a, b) => a - b);
    const missing = sent.size - latenciesUs.length;
    const p99Us = missing > 0 ? Number.POSITIVE_INFINITY : p99(latenciesUs);
    return {
      key: "export-change",
      figure: `state-file change to row in PostgreSQL (watch --export, ${RATE_PER_S} changes/s), p99`,
      n: ctx.n,
      ours: { value: p99Us, unit: "us" },
      oursDetail: `median ${formatMicros(median(latenciesUs))}, ${latenciesUs.length} changes${missing ? `, ${missing} never arrived` : ""}`,
      target: `p99 < ${LATENCY_TARGET_MS} ms`,
      met: p99Us < LATENCY_TARGET_MS * 1000,
      notes: ["latency = write of the file to the NOTIFY of a trigger on runsc_containers, seen by a LISTENing client"],
    };
  } finally {
    if (watch && watch.exitCode === null) {
      watch.kill("SIGTERM");
      await new Promise((r) => watch?.once("exit", r));
    }
    await listener.end();
  }
}

/** startWatch runs the CLI's watch --export and waits until its first sync of the host is recorded. */
async function startWatch(ctx: SizeContext, url: string, client: pg.Client): Promise<ChildProcess> {
  const cli = cliScript();
  if (cli === undefined) throw new Error("export figures need the built CLI (npm run build)");
  const started = new Date();
  const errFile = join(ctx.work, "watch-export.err");
  const err = openSync(errFile, "w");
  const child = trackChild(
    spawn(process.execPath, [cli, "--root", ctx.root, "watch", "--export", url, "--host", "bench"], {
      stdio: ["ignore", "ignore", err],
    }),
  );
  closeSync(err);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await client.query("SELECT 1 FROM runsc_hosts WHERE host = 'bench' AND synced_at >= $1", [started]);
    if (r.rowCount) return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`watch --export did not sync: ${readFileSync(errFile, "utf8")}`);
    }
    await sleep(50);
  }
}
