/**
 * Lock timeouts: a container's lock held by a foreign process (util-linux
 * flock(1), as runsc holds it) makes every locked operation give up with
 * ERR_LOCK_TIMEOUT naming the lock file, after the configured time and
 * without blocking the event loop; in the library and in the CLI (exit 5).
 */
import fs from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LockTimeoutError, openStore, RunscIndexError, StateDocument, type Store } from "../../src/index.js";
import { ensureBuilt, runCliAsync } from "../cli/cli.js";
import { holdForeignLock, isLockFree, killSpawned } from "../helpers/foreign.js";
import { lockPath, makeRoot, removeTempDirs, stateObject, statePath, writeState } from "../helpers/roots.js";

const TIMEOUT_MS = 300;
const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await killSpawned();
  removeTempDirs();
});

function setup(): { root: string; store: Store; lock: string; state: string } {
  const root = makeRoot();
  writeState(root, { containerId: "held" });
  writeState(root, { containerId: "free" });
  const store = openStore({ root, lockTimeoutMs: TIMEOUT_MS });
  stores.push(store);
  return { root, store, lock: lockPath(root, "held", "held"), state: statePath(root, "held", "held") };
}

interface Timed<T> {
  readonly value?: T;
  readonly error?: unknown;
  readonly ms: number;
  /** How often a 10 ms interval timer ran meanwhile: the wait must not block the event loop. */
  readonly ticks: number;
}

/** timed runs fn and reports what it gave, how long it took and how often timers ran meanwhile. */
async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const start = Date.now();
  try {
    const value = await fn();
    return { value, ms: Date.now() - start, ticks };
  } catch (error) {
    return { error, ms: Date.now() - start, ticks };
  } finally {
    clearInterval(timer);
  }
}

function expectTimeout(r: Timed<unknown>, lock: string): void {
  expect(r.error).toBeInstanceOf(LockTimeoutError);
  const e = r.error as LockTimeoutError;
  expect(e.code).toBe("ERR_LOCK_TIMEOUT");
  expect(e.path).toBe(lock);
  expect(e.message).toContain(lock);
  expect(e.message).toContain(String(TIMEOUT_MS));
  // It waited the configured time (not failing at once), and timers ran meanwhile.
  expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
  expect(r.ticks).toBeGreaterThan(3);
}

describe("lock timeout: the library", () => {
  it("load, update, save and destroy give ERR_LOCK_TIMEOUT naming the lock file; the file is untouched", async () => {
    const { store, lock, state } = setup();
    const doc = (await store.load("held", { skipCheck: true })).document;
    const before = fs.readFileSync(state);
    const holder = await holdForeignLock(lock);

    expectTimeout(await timed(() => store.load("held")), lock);
    expectTimeout(await timed(() => store.update("held", (d) => d.set(["x"], 1))), lock);
    doc.set(["x"], 2);
    expectTimeout(await timed(() => store.save(doc)), lock);
    expectTimeout(await timed(() => store.destroy("held")), lock);
    expect(fs.readFileSync(state)).toEqual(before);

    // Other containers are not held up.
    expect((await store.load("free", { skipCheck: true })).containerId).toBe("free");
    // Once the holder is gone the same calls work: the lock was the only obstacle.
    await holder.kill();
    expect(isLockFree(lock)).toBe(true);
    await store.update("held", (d) => d.set(["x"], 3));
    expect(JSON.parse(fs.readFileSync(state, "utf8")).x).toBe(3);
  });

  it("create of a container whose lock a foreign process holds gives ERR_LOCK_TIMEOUT and creates nothing", async () => {
    const { root, store } = setup();
    const lock = lockPath(root, "newbie", "newbie");
    await holdForeignLock(lock);
    expectTimeout(
      await timed(() => store.create(StateDocument.from(stateObject({ containerId: "newbie", rootDir: root })))),
      lock,
    );
    expect(fs.existsSync(statePath(root, "newbie", "newbie"))).toBe(false);
  });

  it("tryLock gives ERR_LOCKED at once", async () => {
    const { store, lock } = setup();
    await holdForeignLock(lock);
    const r = await timed(() => store.load("held", { tryLock: true }));
    expect(r.error).toBeInstanceOf(RunscIndexError);
    expect((r.error as RunscIndexError).code).toBe("ERR_LOCKED");
    expect((r.error as Error).message).toContain(lock);
  });

  it("reconcile does not hang on a torn file whose lock is held: it reports the file and finishes", async () => {
    const { store, lock, state } = setup();
    fs.writeFileSync(state, '{"id":"held","sta'); // what runsc's in-place write looks like halfway
    await holdForeignLock(lock);
    const r = await timed(() => store.reconcile({ full: true }));
    expect(r.error).toBeUndefined();
    expect(r.ticks).toBeGreaterThan(3);
    const entry = r.value?.invalidFiles.find((f) => f.name === "held_sandbox:held.state");
    expect(entry?.reason).toMatch(/timed out/);
    expect(entry?.reason).toContain(lock);
    expect(fs.readFileSync(state, "utf8")).toBe('{"id":"held","sta');
  });

  it("lockTimeoutMs 0 gives up after one try", async () => {
    const { root, lock } = setup();
    const store = openStore({ root, lockTimeoutMs: 0 });
    stores.push(store);
    await holdForeignLock(lock);
    const r = await timed(() => store.load("held"));
    expect(r.error).toBeInstanceOf(LockTimeoutError);
    expect((r.error as LockTimeoutError).path).toBe(lock);
  });
});

describe("lock timeout: the command line", () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it.each(["state", "show"])("%s with --lock-timeout exits 5 and names the lock file", async (cmd) => {
    const { root, lock } = setup();
    await holdForeignLock(lock);
    const started = Date.now();
    const r = await runCliAsync(["--root", root, "--lock-timeout", String(TIMEOUT_MS), cmd, "held"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 5, stdout: "" });
    expect(r.stderr.startsWith("runsc-index: ")).toBe(true);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(lock);
  });
});
