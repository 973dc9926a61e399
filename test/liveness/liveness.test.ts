import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import {
  checkedStatus,
  DEFAULT_START_TOLERANCE_MS,
  parseGoTimeMs,
  readProcStat,
  sandboxLiveness,
} from "../../src/liveness/liveness.js";
import { killSpawned, processState, type Spawned, spawnProcess, waitUntil, withTimeout } from "../helpers/foreign.js";
import { goTime, makeRoot, makeTempDir, removeTempDirs, type StateSpec, writeState } from "../helpers/roots.js";

const HOUR_MS = 3_600_000;
const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await killSpawned();
  removeTempDirs();
});

/** A live process (`sleep 600`), started after `before` was taken. */
async function liveProcess(): Promise<{ proc: Spawned; before: Date }> {
  const before = new Date(Date.now() - 1_000);
  const proc = spawnProcess("sleep", ["600"]);
  await waitUntil("sleep 600 is running", () => processState(proc.pid) !== undefined);
  return { proc, before };
}

/** The PID of a child that was SIGKILLed and reaped: no process has it now. */
async function deadPid(): Promise<number> {
  const proc = spawnProcess("sleep", ["600"]);
  await proc.kill();
  expect(processState(proc.pid)).toBeUndefined();
  return proc.pid;
}

/** A zombie: `sleep 0`'s parent execs `sleep 600`, which never reaps it. */
async function zombiePid(): Promise<number> {
  const parent = spawnProcess("sh", ["-c", "sleep 0 & echo $!; exec sleep 600"]);
  const pid = Number(
    await withTimeout(
      parent.line(() => true),
      20_000,
      "the zombie's PID",
    ),
  );
  await waitUntil(`process ${pid} is a zombie`, () => processState(pid) === "Z");
  return pid;
}

/** Writes c1's state file, loads it through a store, and checks the file was not touched. */
async function loadChecked(spec: Omit<StateSpec, "containerId">, options: { skipCheck?: boolean } = {}) {
  const root = makeRoot();
  const file = writeState(root, { containerId: "c1", ...spec });
  const bytes = fs.readFileSync(file);
  const mtime = fs.statSync(file, { bigint: true }).mtimeNs;
  const store = openStore({ root });
  stores.push(store);
  const c = await store.load("c1", options);
  expect(fs.readFileSync(file)).toEqual(bytes);
  expect(fs.statSync(file, { bigint: true }).mtimeNs).toBe(mtime);
  const listed = await store.list({ skipCheck: options.skipCheck });
  expect(fs.readFileSync(file)).toEqual(bytes);
  return { container: c, listed: listed[0]! };
}

describe("liveness: load without skipCheck, with real processes", () => {
  it("a live PID that started after the recorded startTime: status as stored (running)", async () => {
    const { proc, before } = await liveProcess();
    const { container, listed } = await loadChecked({ status: "running", pid: proc.pid, startTime: goTime(before) });
    expect(container.status).toBe("running");
    expect(container.liveness).toBe("alive");
    expect(listed).toMatchObject({ status: "running", pid: proc.pid });
  });

  it("a live PID with a created or paused status keeps that status", async () => {
    const { proc, before } = await liveProcess();
    for (const status of ["created", "paused"]) {
      const { container } = await loadChecked({ status, pid: proc.pid, startTime: goTime(before) });
      expect(container.status).toBe(status);
    }
  });

  it("the PID of a killed and reaped child: stopped", async () => {
    const pid = await deadPid();
    const { container, listed } = await loadChecked({ status: "running", pid, startTime: goTime(new Date()) });
    expect(container.status).toBe("stopped");
    expect(container.fields.storedStatus).toBe("running");
    expect(container.liveness).toBe("gone");
    expect(listed).toMatchObject({ status: "stopped", storedStatus: "running", pid: -1 });
  });

  it("a zombie sandbox process (exited, not reaped): stopped", async () => {
    const pid = await zombiePid();
    const { container, listed } = await loadChecked({ status: "running", pid, startTime: goTime(new Date()) });
    expect(container.status).toBe("stopped");
    expect(container.liveness).toBe("zombie");
    expect(listed.status).toBe("stopped");
  });

  it("a live PID whose recorded startTime is an hour before the process started (PID reused): stopped", async () => {
    const { proc, before } = await liveProcess();
    const startTime = goTime(new Date(before.getTime() - HOUR_MS));
    const { container, listed } = await loadChecked({ status: "running", pid: proc.pid, startTime });
    expect(processState(proc.pid)).not.toBeUndefined();
    expect(container.status).toBe("stopped");
    expect(container.liveness).toBe("reused");
    expect(listed.status).toBe("stopped");
  });

  it("without a startTime (files before 2024-07), createdAt is the reference", async () => {
    const { proc, before } = await liveProcess();
    const fresh = await loadChecked({ status: "running", pid: proc.pid, startTime: "", createdAt: goTime(before) });
    expect(fresh.container.status).toBe("running");
    const old = goTime(new Date(before.getTime() - HOUR_MS));
    const reused = await loadChecked({ status: "running", pid: proc.pid, startTime: "", createdAt: old });
    expect(reused.container.status).toBe("stopped");
    expect(reused.container.liveness).toBe("reused");
  });

  it("a stored stopped status stays stopped, even with a live PID", async () => {
    const { proc, before } = await liveProcess();
    const { container } = await loadChecked({ status: "stopped", pid: proc.pid, startTime: goTime(before) });
    expect(container.status).toBe("stopped");
  });

  it("a legacy integer status is checked the same way", async () => {
    const pid = await deadPid();
    const { container } = await loadChecked({ status: 3, pid, startTime: goTime(new Date()) });
    expect(container.status).toBe("stopped");
    expect(container.fields.storedStatus).toBe("running");
  });

  it("pid 0 (no sandbox process recorded) with a live status: stopped", async () => {
    const { container } = await loadChecked({ status: "created", pid: 0 });
    expect(container.status).toBe("stopped");
  });

  it("skipCheck returns the stored status for a dead, a zombie and a reused PID", async () => {
    const dead = await deadPid();
    const zombie = await zombiePid();
    const { proc, before } = await liveProcess();
    const old = goTime(new Date(before.getTime() - HOUR_MS));
    for (const spec of [
      { status: "running", pid: dead, startTime: goTime(new Date()) },
      { status: "paused", pid: zombie, startTime: goTime(new Date()) },
      { status: "created", pid: proc.pid, startTime: old },
    ]) {
      const { container, listed } = await loadChecked(spec, { skipCheck: true });
      expect(container.status).toBe(spec.status);
      expect(container.liveness).toBeUndefined();
      expect(listed.status).toBe(spec.status);
    }
  });

  it("the fixtures' sandbox PID 412345 (above pid_max here) reads as stopped for both containers", async () => {
    const root = makeRoot({ fixtures: true });
    const store = openStore({ root });
    stores.push(store);
    const all = await store.list();
    expect(all.map((c) => [c.status, c.storedStatus, c.pid])).toEqual([
      ["stopped", "created", -1],
      ["stopped", "running", -1],
    ]);
  });
});

describe("liveness: the pieces", () => {
  it("parseGoTimeMs reads RFC3339Nano in UTC and with an offset; anything else is NaN", () => {
    expect(parseGoTimeMs("2026-08-12T14:03:27.401772118Z")).toBe(Date.UTC(2026, 7, 12, 14, 3, 27, 401));
    expect(parseGoTimeMs("2026-08-12T14:03:27Z")).toBe(Date.UTC(2026, 7, 12, 14, 3, 27));
    expect(parseGoTimeMs("2026-08-12T16:03:27.5+02:00")).toBe(Date.UTC(2026, 7, 12, 14, 3, 27, 500));
    expect(parseGoTimeMs("")).toBeNaN();
    expect(parseGoTimeMs("yesterday")).toBeNaN();
  });

  it("readProcStat reads this process's state, and a command name containing ') '", async () => {
    expect(readProcStat(process.pid)?.state).toMatch(/^[RS]$/);
    // The command name in /proc/<pid>/stat is the name the program was run by.
    const odd = path.join(makeTempDir("comm"), "a) Z (b");
    fs.symlinkSync(fs.realpathSync("/bin/sleep"), odd);
    const proc = spawnProcess(odd, ["600"]);
    await waitUntil("the oddly named process sleeps", () => processState(proc.pid) === "S");
    expect(fs.readFileSync(`/proc/${proc.pid}/comm`, "utf8").trim()).toBe("a) Z (b");
    const stat = readProcStat(proc.pid);
    expect(stat?.state).toBe("S");
    expect(stat?.startTicks).toBeGreaterThan(0);
  });

  it("sandboxLiveness: alive within the tolerance, reused past it, gone for no process", async () => {
    const { proc } = await liveProcess();
    const now = Date.now();
    expect(sandboxLiveness(proc.pid, now)).toBe("alive");
    expect(sandboxLiveness(proc.pid, now - DEFAULT_START_TOLERANCE_MS * 4)).toBe("reused");
    expect(sandboxLiveness(proc.pid, Number.NaN)).toBe("alive");
    expect(sandboxLiveness(-1, now)).toBe("gone");
    expect(sandboxLiveness(0, now)).toBe("gone");
    expect(sandboxLiveness(await deadPid(), now)).toBe("gone");
  });

  it("checkedStatus leaves creating and stopped alone and never reads /proc for them", () => {
    expect(checkedStatus({ status: "creating", pid: -1, startTime: "", rootCreatedAt: "" })).toEqual({
      status: "creating",
    });
    expect(checkedStatus({ status: "stopped", pid: process.pid, startTime: "", rootCreatedAt: "" })).toEqual({
      status: "stopped",
    });
  });
});
