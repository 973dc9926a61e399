import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LockTimeoutError, RunscIndexError } from "../../src/errors.js";
import { acquireLock, tryAcquireLock } from "../../src/lock/flock.js";
import type { HeldLock } from "../../src/lock/held-lock.js";
import {
  holdForeignLock,
  isLockFree,
  killSpawned,
  spawnTsx,
  srcUrl,
  startForeignHolder,
  waitUntil,
  withTimeout,
} from "../helpers/foreign.js";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";

const held: HeldLock[] = [];

afterEach(async () => {
  for (const lock of held.splice(0)) lock.release();
  await killSpawned();
  removeTempDirs();
});

function lockFile(name = "c1_sandbox:s1.lock"): string {
  return path.join(makeTempDir("lock"), name);
}

async function ours(file: string, wait: Parameters<typeof acquireLock>[1] = "block"): Promise<HeldLock> {
  const lock = await acquireLock(file, wait);
  held.push(lock);
  return lock;
}

/** Tracks whether a promise has settled, without awaiting it. */
function settled<T>(p: Promise<T>): { readonly done: boolean } {
  const state = { done: false };
  p.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

/** /proc/locks lists a process blocked in flock(2) as "N: -> FLOCK  ADVISORY  WRITE <pid> ...". */
function isBlockedOnFlock(pid: number): boolean {
  return fs
    .readFileSync("/proc/locks", "utf8")
    .split("\n")
    .some((l) => new RegExp(`^\\d+: -> FLOCK\\s+ADVISORY\\s+WRITE\\s+${pid}\\s`).test(l));
}

describe("lock: against a foreign flock(1) holder", () => {
  it("try fails at once with ERR_LOCKED naming the file while flock -x holds it", async () => {
    const file = lockFile();
    await holdForeignLock(file);
    const err = await acquireLock(file, "try").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunscIndexError);
    expect((err as RunscIndexError).code).toBe("ERR_LOCKED");
    expect((err as Error).message).toContain(file);
    expect(tryAcquireLock(file)).toBe("busy");
  });

  it("a blocking lock waits without blocking the event loop, and acquires once the holder is SIGKILLed", async () => {
    const file = lockFile();
    const holder = await holdForeignLock(file);
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    try {
      const pending = acquireLock(file, "block");
      const state = settled(pending);
      // The event loop keeps running: timers fire many times while we wait.
      await waitUntil("20 timer ticks have run", () => ticks >= 20);
      expect(state.done).toBe(false);
      expect(isLockFree(file)).toBe(false);
      const ticksBeforeKill = ticks;
      await holder.kill();
      const lock = await withTimeout(pending, 20_000, "the lock after the holder died");
      held.push(lock);
      expect(lock.held).toBe(true);
      expect(ticksBeforeKill).toBeGreaterThanOrEqual(20);
      // It is ours now: a foreign try fails.
      expect(isLockFree(file)).toBe(false);
    } finally {
      clearInterval(interval);
    }
  });

  it("while we hold the lock, `flock -n FILE true` exits 1; after release it exits 0", async () => {
    const file = lockFile();
    const lock = await ours(file);
    expect(isLockFree(file)).toBe(false);
    lock.release();
    expect(lock.held).toBe(false);
    expect(isLockFree(file)).toBe(true);
  });

  it("a foreign blocking flock(1) waits for us and gets the lock when we release", async () => {
    const file = lockFile();
    const lock = await ours(file);
    const holder = startForeignHolder(file);
    const state = settled(holder.locked);
    await waitUntil("flock(1) is blocked waiting for the lock", () => isBlockedOnFlock(holder.pid));
    expect(isLockFree(file)).toBe(false);
    expect(state.done).toBe(false);
    lock.release();
    await withTimeout(holder.locked, 20_000, "flock(1) to get the lock");
    await expect(acquireLock(file, "try")).rejects.toMatchObject({ code: "ERR_LOCKED" });
  });

  it("a SIGKILLed foreign holder releases the lock", async () => {
    const file = lockFile();
    const holder = await holdForeignLock(file);
    await expect(acquireLock(file, "try")).rejects.toMatchObject({ code: "ERR_LOCKED" });
    await holder.kill();
    expect((await holder.exited).signal).toBe("SIGKILL");
    const lock = await ours(file, "try");
    expect(lock.held).toBe(true);
  });

  it("a SIGKILLed child of ours holding the lock releases it", async () => {
    const dir = makeTempDir("lock");
    const file = path.join(dir, "c1_sandbox:s1.lock");
    const script = path.join(dir, "hold.mts");
    fs.writeFileSync(
      script,
      `import { acquireLock } from ${JSON.stringify(srcUrl("lock/flock.ts"))};
       await acquireLock(process.argv[2], "block");
       console.log("held");
       setInterval(() => {}, 1000);`,
    );
    const child = spawnTsx(script, [file]);
    await withTimeout(
      child.line((l) => l === "held"),
      30_000,
      "the child to hold the lock",
    );
    expect(isLockFree(file)).toBe(false);
    await expect(acquireLock(file, "try")).rejects.toMatchObject({ code: "ERR_LOCKED" });
    await child.kill();
    expect((await child.exited).signal).toBe("SIGKILL");
    expect(isLockFree(file)).toBe(true);
  });
});

describe("lock: timeouts", () => {
  it("a timeout raises ERR_LOCK_TIMEOUT naming the file, after at least the timeout", async () => {
    const file = lockFile();
    await holdForeignLock(file);
    const started = Date.now();
    const err = await acquireLock(file, { timeoutMs: 150 }).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toBeInstanceOf(RunscIndexError);
    const e = err as LockTimeoutError;
    expect(e.code).toBe("ERR_LOCK_TIMEOUT");
    expect(e.path).toBe(file);
    expect(e.timeoutMs).toBe(150);
    expect(e.message).toContain(`"${file}"`);
    expect(e.message).toContain("150 ms");
    expect(waited).toBeGreaterThanOrEqual(149);
  });

  it("a timeout of 0 behaves as a single try: ERR_LOCK_TIMEOUT while held, the lock when free", async () => {
    const file = lockFile();
    const holder = await holdForeignLock(file);
    await expect(acquireLock(file, { timeoutMs: 0 })).rejects.toMatchObject({ code: "ERR_LOCK_TIMEOUT", path: file });
    await holder.kill();
    expect((await ours(file, { timeoutMs: 0 })).held).toBe(true);
  });

  it("a lock freed before the timeout is acquired, not timed out", async () => {
    const file = lockFile();
    const holder = await holdForeignLock(file);
    const pending = acquireLock(file, { timeoutMs: 30_000 });
    await holder.kill();
    const lock = await pending;
    held.push(lock);
    expect(lock.held).toBe(true);
  });
});

describe("lock: the lock file", () => {
  it("a missing lock file is created with mode 0600, as runsc does", async () => {
    const file = lockFile();
    const umask = process.umask();
    await ours(file);
    const st = fs.statSync(file);
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(0);
    expect(st.mode & 0o777).toBe(0o600 & ~umask);
  });

  it("an existing lock file keeps its content and mode", async () => {
    const file = lockFile();
    fs.writeFileSync(file, "", { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    await ours(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
  });

  it("create: false on a missing lock file is ERR_NOT_FOUND and creates nothing", async () => {
    const file = lockFile();
    await expect(acquireLock(file, "try", { create: false })).rejects.toMatchObject({ code: "ERR_NOT_FOUND" });
    expect(fs.existsSync(file)).toBe(false);
  });

  it("release is idempotent and a released lock reports held = false", async () => {
    const file = lockFile();
    const lock = await ours(file);
    lock.release();
    lock.release();
    expect(lock.held).toBe(false);
    expect(isLockFree(file)).toBe(true);
  });

  it("two locks in one process exclude each other (flock is per open file, not per process)", async () => {
    const file = lockFile();
    const first = await ours(file);
    await expect(acquireLock(file, "try")).rejects.toMatchObject({ code: "ERR_LOCKED" });
    const second = acquireLock(file, "block");
    first.release();
    held.push(await second);
    expect(isLockFree(file)).toBe(false);
  });
});

describe("lock: the unlink race (runsc unlinks lock files on destroy)", () => {
  it("after A unlinks the lock file and dies, waiter B and new opener C never both hold it", async () => {
    const file = lockFile();
    const a = await holdForeignLock(file);
    // B: ours, waiting for A.
    const b = acquireLock(file, "block");
    const bState = settled(b);
    // A destroys: unlinks the lock file while holding it, then releases (dies).
    fs.unlinkSync(file);
    await a.kill();
    // C: a foreign opener of the path. B and C now race for the new file.
    const c = startForeignHolder(file);
    const cState = settled(c.locked);
    await waitUntil("B or C holds the lock", () => bState.done || cState.done);
    if (bState.done) {
      const lock = await b;
      held.push(lock);
      await waitUntil("C is blocked behind B", () => isBlockedOnFlock(c.pid));
      expect(cState.done).toBe(false);
      lock.release();
      await withTimeout(c.locked, 20_000, "C's lock after B released");
      await expect(acquireLock(file, "try")).rejects.toMatchObject({ code: "ERR_LOCKED" });
    } else {
      let ticks = 0;
      const interval = setInterval(() => ticks++, 5);
      // B keeps polling; it must not believe it holds the lock while C does.
      await waitUntil("B has had many chances to lock", () => ticks >= 40).finally(() => clearInterval(interval));
      expect(bState.done).toBe(false);
      await c.kill();
      held.push(await withTimeout(b, 20_000, "B's lock after C died"));
      expect(isLockFree(file)).toBe(false);
    }
  });

  it("holders never overlap while a foreign process keeps destroying the lock file", async () => {
    // A foreign destroyer (python3, flock(2) through fcntl.flock) loops: lock,
    // check a shared counter is 0, set 1, set 0, unlink the lock file, unlock.
    // Two child processes of ours spin on tryAcquireLock and do the same check.
    // A holder that took a lock on an unlinked inode would overlap with the
    // next holder of the new file: the counter shows it.
    const dir = makeTempDir("lock");
    const file = path.join(dir, "c1_sandbox:s1.lock");
    const counter = path.join(dir, "counter");
    const stop = path.join(dir, "stop");
    fs.writeFileSync(counter, "0");
    const spinner = path.join(dir, "spin.mts");
    fs.writeFileSync(
      spinner,
      `import fs from "node:fs";
       import { tryAcquireLock } from ${JSON.stringify(srcUrl("lock/flock.ts"))};
       const [file, counter, stop] = process.argv.slice(2);
       let holds = 0, overlaps = 0;
       console.log("ready");
       while (!fs.existsSync(stop)) {
         for (let i = 0; i < 200; i++) {
           const lock = tryAcquireLock(file);
           if (lock === "busy") continue;
           if (fs.readFileSync(counter, "utf8") !== "0") overlaps++;
           fs.writeFileSync(counter, "1");
           if (fs.readFileSync(counter, "utf8") !== "1") overlaps++;
           fs.writeFileSync(counter, "0");
           lock.release();
           holds++;
         }
       }
       console.log(JSON.stringify({ holds, overlaps }));`,
    );
    const destroyer = path.join(dir, "destroy.py");
    fs.writeFileSync(
      destroyer,
      `import fcntl, json, os, sys, time
lock, counter, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
def read():
    with open(counter) as f:
        return f.read()
def write(v):
    with open(counter, "w") as f:
        f.write(v)
holds = overlaps = 0
end = time.monotonic() + seconds
while time.monotonic() < end or holds < 50:
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    if read() != "0": overlaps += 1
    write("1")
    if read() != "1": overlaps += 1
    write("0")
    os.unlink(lock)  # runsc's Destroy: unlink while holding, then unlock
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    holds += 1
print(json.dumps({"holds": holds, "overlaps": overlaps}), flush=True)
`,
    );
    const spinners = [spawnTsx(spinner, [file, counter, stop]), spawnTsx(spinner, [file, counter, stop])];
    for (const s of spinners)
      await withTimeout(
        s.line((l) => l === "ready"),
        30_000,
        "a spinner to start",
      );
    const { spawn } = await import("node:child_process");
    const py = spawn("python3", [destroyer, file, counter, "1.5"], { stdio: ["ignore", "pipe", "pipe"] });
    let pyOut = "";
    let pyErr = "";
    py.stdout.on("data", (d: Buffer) => {
      pyOut += d.toString();
    });
    py.stderr.on("data", (d: Buffer) => {
      pyErr += d.toString();
    });
    const pyExit = await withTimeout(
      new Promise<number | null>((resolve) => py.once("close", (code) => resolve(code))),
      25_000,
      "the destroyer",
    ).finally(() => py.kill("SIGKILL"));
    expect(pyErr).toBe("");
    expect(pyExit).toBe(0);
    fs.writeFileSync(stop, "");
    const results = await Promise.all(
      spinners.map(async (s) => {
        const line = await withTimeout(
          s.line((l) => l.startsWith("{")),
          20_000,
          "a spinner's result",
        );
        return JSON.parse(line) as { holds: number; overlaps: number };
      }),
    );
    const theirs = JSON.parse(pyOut) as { holds: number; overlaps: number };
    expect(theirs.holds).toBeGreaterThanOrEqual(50);
    for (const r of results) expect(r.holds).toBeGreaterThan(0);
    expect([theirs.overlaps, ...results.map((r) => r.overlaps)]).toEqual([0, 0, 0]);
  });
});
