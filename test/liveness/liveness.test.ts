import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import { isSandboxCommand, LivenessCache, strictLiveness } from "../../src/liveness/liveness.js";
import { killSpawned, processState, type Spawned, spawnProcess, waitUntil, withTimeout } from "../helpers/foreign.js";
import { goTime, makeRoot, makeTempDir, removeTempDirs, type StateSpec, writeState } from "../helpers/roots.js";
import { type StandInSandbox, startStandInSandbox } from "../helpers/stand-in-sandbox.js";

const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await killSpawned();
  removeTempDirs();
});

/** A live process that is not a sandbox (`sleep 600`). */
async function liveProcess(): Promise<Spawned> {
  const proc = spawnProcess("sleep", ["600"]);
  await waitUntil("sleep 600 is running", () => processState(proc.pid) !== undefined);
  return proc;
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

/** socketEdit points the state file at a stand-in sandbox's control socket. */
function socketEdit(sandbox: StandInSandbox): StateSpec["edit"] {
  return (d) => {
    d.sandbox.controlSocketPath = sandbox.socketPath;
  };
}

/** Writes c1's state file, loads and lists it through a store, and checks the file was not touched. */
async function loadChecked(
  spec: Omit<StateSpec, "containerId">,
  options: { skipCheck?: boolean; strictLiveness?: boolean } = {},
) {
  const root = makeRoot();
  const file = writeState(root, { containerId: "c1", ...spec });
  const bytes = fs.readFileSync(file);
  const mtime = fs.statSync(file, { bigint: true }).mtimeNs;
  const store = openStore({ root });
  stores.push(store);
  const c = await store.load("c1", options);
  const listed = await store.list(options);
  expect(fs.readFileSync(file)).toEqual(bytes);
  expect(fs.statSync(file, { bigint: true }).mtimeNs).toBe(mtime);
  // Container and ContainerSummary say the same with the same names.
  const pick = (x: typeof c | (typeof listed)[number]) => ({
    status: x.status,
    storedStatus: x.storedStatus,
    pid: x.pid,
    strictStatus: x.strictStatus,
    liveness: x.liveness,
  });
  expect(pick(listed[0]!)).toEqual(pick(c));
  return c;
}

describe("liveness as runsc 20221219 decides it (load and list)", () => {
  it("created: alive while kill(pid, 0) succeeds, even for a process that is not a sandbox", async () => {
    const proc = await liveProcess();
    const c = await loadChecked({ status: "created", pid: proc.pid });
    expect(c).toMatchObject({ status: "created", storedStatus: "created", pid: proc.pid, liveness: undefined });
  });

  it("created: a zombie sandbox counts as alive (kill(pid, 0) succeeds on a zombie)", async () => {
    const pid = await zombiePid();
    expect((await loadChecked({ status: "created", pid })).status).toBe("created");
  });

  it("created: a dead PID, and PID 0, are stopped with PID -1", async () => {
    const pid = await deadPid();
    expect(await loadChecked({ status: "created", pid })).toMatchObject({ status: "stopped", pid: -1 });
    expect(await loadChecked({ status: "created", pid: 0 })).toMatchObject({ status: "stopped", pid: -1 });
  });

  it("running: alive when the sandbox answers Signal(0) for the container over its control socket", async () => {
    const sandbox = await startStandInSandbox(makeTempDir("sock"), "c1", ["c1"]);
    const c = await loadChecked({ status: "running", pid: sandbox.pid, edit: socketEdit(sandbox) });
    expect(c).toMatchObject({ status: "running", pid: sandbox.pid });
  });

  it("running: a container whose process exited inside a live sandbox is stopped, PID -1", async () => {
    const sandbox = await startStandInSandbox(makeTempDir("sock"), "c1", []);
    const c = await loadChecked({ status: "running", pid: sandbox.pid, edit: socketEdit(sandbox) });
    expect(c).toMatchObject({ status: "stopped", storedStatus: "running", pid: -1 });
  });

  it("running: a live process without a control socket, a zombie and a dead PID are stopped", async () => {
    const proc = await liveProcess();
    expect((await loadChecked({ status: "running", pid: proc.pid })).status).toBe("stopped");
    expect((await loadChecked({ status: "running", pid: await zombiePid() })).status).toBe("stopped");
    expect((await loadChecked({ status: "running", pid: await deadPid() })).status).toBe("stopped");
  });

  it("running: a control socket path longer than a unix socket address is reached through /proc/self/fd", async () => {
    let dir = makeTempDir("sock");
    while (dir.length < 150) dir = path.join(dir, "a-rather-long-directory-name");
    fs.mkdirSync(dir, { recursive: true });
    const sandbox = await startStandInSandbox(dir, "c1", ["c1"]);
    expect(Buffer.byteLength(sandbox.socketPath)).toBeGreaterThan(108);
    expect((await loadChecked({ status: "running", pid: sandbox.pid, edit: socketEdit(sandbox) })).status).toBe(
      "running",
    );
  });

  it("paused and stopped are never checked: a dead PID keeps paused", async () => {
    const pid = await deadPid();
    expect(await loadChecked({ status: "paused", pid })).toMatchObject({ status: "paused", pid });
    expect(await loadChecked({ status: "stopped", pid })).toMatchObject({ status: "stopped", pid: -1 });
  });

  it("a legacy integer status is checked the same way", async () => {
    const c = await loadChecked({ status: 3, pid: await deadPid() });
    expect(c).toMatchObject({ status: "stopped", storedStatus: "running" });
  });

  it("skipCheck returns the stored status for a dead PID", async () => {
    const pid = await deadPid();
    for (const status of ["created", "running", "paused"] as const) {
      expect(await loadChecked({ status, pid }, { skipCheck: true })).toMatchObject({ status, pid });
    }
  });

  it("list asks each sandbox over one connection, however many of its containers run", async () => {
    const root = makeRoot();
    const sandbox = await startStandInSandbox(makeTempDir("sock"), "s1", ["s1", "a2"]);
    for (const id of ["s1", "a2", "a3"]) {
      writeState(root, {
        containerId: id,
        sandboxId: "s1",
        status: "running",
        pid: sandbox.pid,
        edit: socketEdit(sandbox),
      });
    }
    const store = openStore({ root });
    stores.push(store);
    const listed = await store.list();
    expect(listed.map((c) => [c.containerId, c.status])).toEqual([
      ["a2", "running"],
      ["a3", "stopped"],
      ["s1", "running"],
    ]);
    await waitUntil("the connection was logged", () => sandbox.process.stdout().includes("connection"));
    expect(sandbox.process.stdout().match(/connection/g)).toHaveLength(1);
  });
});

describe("the strict check, on request, in fields of its own", () => {
  it("a live sandbox is alive; a non-sandbox process is reused; a zombie and a dead PID say so", async () => {
    const sandbox = await startStandInSandbox(makeTempDir("sock"), "c1", ["c1"]);
    const ok = await loadChecked(
      { status: "running", pid: sandbox.pid, edit: socketEdit(sandbox) },
      { strictLiveness: true },
    );
    expect(ok).toMatchObject({ status: "running", strictStatus: "running", liveness: "alive" });
    const proc = await liveProcess();
    const reused = await loadChecked({ status: "created", pid: proc.pid }, { strictLiveness: true });
    expect(reused).toMatchObject({ status: "created", strictStatus: "stopped", liveness: "reused" });
    const zombie = await loadChecked({ status: "created", pid: await zombiePid() }, { strictLiveness: true });
    expect(zombie).toMatchObject({ status: "created", strictStatus: "stopped", liveness: "zombie" });
    const gone = await loadChecked({ status: "paused", pid: await deadPid() }, { strictLiveness: true });
    expect(gone).toMatchObject({ status: "paused", strictStatus: "stopped", liveness: "gone" });
  });

  it("no clock is consulted: recorded times a year off either way leave a live sandbox alive", async () => {
    const sandbox = await startStandInSandbox(makeTempDir("sock"), "c1", ["c1"]);
    const year = 366 * 24 * 3_600_000;
    for (const t of [Date.now() - year, Date.now() + year]) {
      const c = await loadChecked(
        {
          status: "running",
          pid: sandbox.pid,
          startTime: goTime(new Date(t)),
          createdAt: goTime(new Date(t)),
          edit: socketEdit(sandbox),
        },
        { strictLiveness: true },
      );
      expect(c).toMatchObject({ status: "running", strictStatus: "running", liveness: "alive" });
    }
  });

  it("isSandboxCommand: runsc-sandbox ... boot ... <sandbox ID>, nothing else", () => {
    expect(isSandboxCommand(["runsc-sandbox", "--root=/r", "boot", "--bundle=/b", "s1"], "s1")).toBe(true);
    expect(isSandboxCommand(["/usr/bin/runsc-sandbox", "boot", "s1"], "s1")).toBe(true);
    expect(isSandboxCommand(["runsc-sandbox", "boot", "s2"], "s1")).toBe(false);
    expect(isSandboxCommand(["runsc-gofer", "gofer", "s1"], "s1")).toBe(false);
    expect(isSandboxCommand(["sleep", "600"], "600")).toBe(false);
  });

  it("strictLiveness of PID 0, -1 and this test process", () => {
    expect(strictLiveness(0, "s")).toBe("gone");
    expect(strictLiveness(-1, "s")).toBe("gone");
    expect(strictLiveness(process.pid, "s")).toBe("reused");
  });

  it("a LivenessCache without strict leaves the strict fields undefined", async () => {
    const cache = new LivenessCache();
    expect(cache.isStrict).toBe(false);
    expect(cache.pidAlive(process.pid)).toBe(true);
    expect(cache.pidAlive(0)).toBe(false);
    cache.close();
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
