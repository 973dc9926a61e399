/**
 * Other processes for tests: a foreign lock holder (util-linux flock(1), a
 * process that is not ours, taking flock(2) LOCK_EX on a lock file as runsc
 * does), child processes running our TypeScript through tsx, and small
 * helpers to probe a lock from outside and to wait for real signals.
 *
 * Call killSpawned() in afterEach: it SIGKILLs every process started here
 * that is still alive (its whole process group) and waits for it to exit.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The repository root (tsx is resolved from here). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** srcUrl is the file URL of a TypeScript source, for `import` in a child script: srcUrl("index.ts"). */
export function srcUrl(relative: string): string {
  return new URL(`../../src/${relative}`, import.meta.url).href;
}

/** A process started here, in a process group of its own. */
export interface Spawned {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it printed to stdout so far. */
  stdout(): string;
  /** Everything it printed to stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line for which `match` is true; rejects if the process exits first. */
  line(match: (line: string) => boolean): Promise<string>;
  /** Resolves when it has exited (and was reaped) and its output is closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs its whole process group and resolves once it has exited. */
  kill(): Promise<void>;
}

const spawned = new Set<Spawned>();

function track(child: ChildProcess, what: string): Spawned {
  if (child.pid === undefined) throw new Error(`could not spawn ${what}`);
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // "close" comes after "exit" and after the last stdout data.
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  const self: Spawned = {
    pid: child.pid,
    child,
    stdout: () => out,
    stderr: () => err,
    line(match) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = out.split("\n").slice(0, -1).find(match);
          if (found === undefined) return false;
          waiters.delete(check);
          resolve(found);
          return true;
        };
        if (check()) return;
        waiters.add(check);
        exited.then(({ code, signal }) => {
          if (waiters.delete(check) && !check()) {
            reject(new Error(`${what} exited (${signal ?? code}) first; stdout: ${out.trim()}; stderr: ${err.trim()}`));
          }
        });
      });
    },
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
  spawned.add(self);
  exited.then(() => spawned.delete(self));
  return self;
}

/** killSpawned SIGKILLs every process started here that is still running and waits for each to exit. */
export async function killSpawned(): Promise<void> {
  await Promise.all([...spawned].map((s) => s.kill()));
}

export interface ForeignHolder extends Spawned {
  /** The lock file it locks. */
  readonly file: string;
  /** Resolves once flock(1) holds the lock (it printed "locked"); rejects if it exits first. */
  readonly locked: Promise<void>;
}

/**
 * startForeignHolder spawns `flock -x FILE sh -c 'echo locked; exec sleep 600'`
 * in a process group of its own, without waiting for the lock (see `locked`).
 * flock(1) creates FILE when missing, as runsc does.
 */
export function startForeignHolder(file: string): ForeignHolder {
  const child = spawn("flock", ["-x", file, "sh", "-c", "echo locked; exec sleep 600"], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const s = track(child, `flock -x ${file}`);
  const locked = s.line((l) => l === "locked").then(() => undefined);
  locked.catch(() => {}); // a holder killed before it locked is not an unhandled rejection
  return Object.assign(s, { file, locked });
}

/**
 * holdForeignLock starts a foreign holder and resolves once it holds the lock
 * on `file`. Rejects after timeoutMs (default 20 s) and kills the holder.
 */
export async function holdForeignLock(file: string, timeoutMs = 20_000): Promise<ForeignHolder> {
  const holder = startForeignHolder(file);
  try {
    await withTimeout(holder.locked, timeoutMs, `flock -x ${file} to get the lock`);
    return holder;
  } catch (e) {
    await holder.kill();
    throw e;
  }
}

/**
 * spawnTsx runs a TypeScript (.mts) script of ours with `node --import tsx`
 * from the repository root, in a process group of its own. The script can
 * import our sources with srcUrl(...).
 */
export function spawnTsx(script: string, args: readonly string[] = []): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return track(child, `node ${script}`);
}

/**
 * spawnProcess runs any command (e.g. `sleep 600`) in a process group of its
 * own, tracked like the others: killSpawned() SIGKILLs it.
 */
export function spawnProcess(
  command: string,
  args: readonly string[] = [],
  options: { argv0?: string; cwd?: string } = {},
): Spawned {
  const child = spawn(command, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    argv0: options.argv0,
    cwd: options.cwd,
  });
  return track(child, `${command} ${args.join(" ")}`);
}

/**
 * isLockFree runs `flock -n FILE true`: true when the lock could be taken
 * (exit 0), false when another open file holds it (exit 1).
 * Caution: flock(1) creates FILE when it is missing; check existence first
 * when that matters.
 */
export function isLockFree(file: string): boolean {
  const r = spawnSync("flock", ["-n", "-E", "100", file, "true"], { encoding: "utf8" });
  if (r.status === 0) return true;
  if (r.status === 100) return false;
  throw new Error(`flock -n ${file} true failed (${r.signal ?? r.status}): ${r.stderr}`);
}

/**
 * waitUntil polls `condition` every intervalMs (default 5) until it returns
 * true, then resolves. Rejects naming `what` after timeoutMs (default 20 s).
 * For real signals: a file appearing, a lock state, a process state.
 */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(options.intervalMs ?? 5);
  }
}

/** withTimeout resolves as `promise` does, or rejects naming `what` after timeoutMs. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** processState is the state letter in /proc/<pid>/stat ("S", "R", "Z", ...), or undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}
