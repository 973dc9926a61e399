/**
 * Running the built command line as a user does: `node dist/src/cli/main.cjs`
 * in a child process. ensureBuilt() (call it in beforeAll) rebuilds dist/
 * once when a source is newer than the CLI, under a flock so that test files
 * running in parallel do not build at the same time.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = path.join(REPO_ROOT, "dist", "src", "cli", "main.cjs");
/** runsc's own output for the fixture root: cli-output/sandbox-dead and cli-output/sandbox-alive. */
export const CLI_OUTPUT_DIR = fileURLToPath(new URL("../fixtures/runsc/cli-output/", import.meta.url));

/**
 * Run by `flock LOCK node -e`: rebuild (tsc, then the bundle as `npm run
 * build` does) when dist/src/cli/main.cjs is missing or older than any file
 * under src/. A build with type errors elsewhere still emits; only a missing
 * or unbundled CLI is fatal.
 */
const CHECK_AND_BUILD = `
const fs = require("node:fs"), path = require("node:path"), cp = require("node:child_process");
const repo = process.argv[1];
const cli = path.join(repo, "dist", "src", "cli", "main.cjs");
const newest = (dir) => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
  const p = path.join(dir, e.name);
  return Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
}, 0);
const built = fs.existsSync(cli) ? fs.statSync(cli).mtimeMs : -1;
if (built < newest(path.join(repo, "src"))) {
  const r = cp.spawnSync(path.join(repo, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) process.stderr.write("tsc reported errors (dist was still emitted):\\n" + r.stdout + r.stderr);
  const b = cp.spawnSync(process.execPath, [path.join(repo, "scripts", "bundle-cli.mjs")], { cwd: repo, encoding: "utf8" });
  if (b.status !== 0) { process.stderr.write("bundling the CLI failed:\\n" + b.stderr); process.exit(1); }
}
if (!fs.existsSync(cli)) { process.stderr.write("no " + cli + " after building\\n"); process.exit(1); }
`;

/**
 * ensureBuilt makes dist/src/cli/main.cjs current, at most once per vitest run
 * (test files share one vitest process): a rebuild while another
 * file's CLI processes load dist/ could hand them half-written modules.
 * Markers of finished runs are removed.
 */
export function ensureBuilt(): void {
  const dir = path.join(os.tmpdir(), "runsc-index-cli-build");
  fs.mkdirSync(dir, { recursive: true });
  // The vitest process: our parent in the forks pool (we have an IPC channel), ourselves in the threads pool.
  const vitestPid = typeof process.send === "function" ? process.ppid : process.pid;
  const marker = path.join(dir, `built-for-${vitestPid}`);
  if (fs.existsSync(marker) && fs.existsSync(CLI)) return;
  const script = `${CHECK_AND_BUILD}\nfs.writeFileSync(${JSON.stringify(marker)}, "");`;
  const r = spawnSync("flock", [path.join(dir, "lock"), process.execPath, "-e", script, REPO_ROOT], {
    encoding: "utf8",
  });
  if (r.stderr) console.warn(r.stderr);
  if (r.status !== 0) throw new Error(`building the CLI failed (${r.signal ?? r.status}): ${r.stderr}`);
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(/^built-for-(\d+)$/.exec(name)?.[1]);
    if (pid && !isAlive(pid)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment; XDG_RUNTIME_DIR is removed unless given here. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * The fixtures are in the current runsc format, so the CLI prints current
 * runsc's bytes (ociVersion 1.2.1, state with a newline) unless a test
 * says otherwise: the host's runsc may be another release.
 */
export function cliEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RUNSC_INDEX_RUNSC_FORMAT: "current" };
  delete env.XDG_RUNTIME_DIR;
  return { ...env, ...extra };
}

/** runCli runs `node main.cjs ...args` to completion (stdout and stderr are pipes, so not TTYs). */
export function runCli(args: readonly string[], options: RunOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: cliEnv(options.env),
    timeout: options.timeoutMs ?? 30_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** runCliAsync is runCli without blocking the event loop (for tests that keep other processes going). */
export function runCliAsync(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(options.env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** A CLI process left running (watch), with its output so far. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) matches; rejects on exit or after timeoutMs. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit status once the process has exited. */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

export function startCli(args: readonly string[], options: RunOptions = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(options.env) });
  running.add(child);
  const out = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.on("data", (d: Buffer) => {
    out.stdout += d.toString();
    notify();
  });
  child.stderr.on("data", (d: Buffer) => {
    out.stderr += d.toString();
    notify();
  });
  let done = false;
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (status, signal) => {
      done = true;
      running.delete(child);
      notify();
      resolve({ status, signal });
    });
  });
  const waitFor = (stream: "stdout" | "stderr", pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out[stream].match(pattern);
        if (m) finish(() => resolve(m));
        else if (done) finish(() => reject(new Error(`CLI exited before ${stream} matched ${pattern}: ${out.stderr}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out waiting for ${stream} to match ${pattern}: ${out[stream]}`))),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return { child, stdout: () => out.stdout, stderr: () => out.stderr, waitFor, exited };
}

/** killRunningClis SIGKILLs every CLI started by startCli that is still running, and waits for each. */
export async function killRunningClis(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("close", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

/** readCliOutput returns one of runsc's recorded outputs, e.g. ("sandbox-dead", "runsc-list.txt"). */
export function readCliOutput(scenario: "sandbox-dead" | "sandbox-alive", name: string): string {
  return fs.readFileSync(path.join(CLI_OUTPUT_DIR, scenario, name), "utf8");
}

/** errorLine checks that stderr is exactly one line `runsc-index: ...` and returns it. */
export function errorLine(stderr: string): string {
  const lines = stderr.split("\n");
  if (lines.length !== 2 || lines[1] !== "" || !lines[0]!.startsWith("runsc-index: ")) {
    throw new Error(`expected one "runsc-index: ..." line on stderr, got ${JSON.stringify(stderr)}`);
  }
  return lines[0]!;
}

/** A util-linux flock(1) process holding LOCK_EX on a file, as runsc would. */
export interface LockHolder {
  /** SIGKILLs flock(1) and its child (the whole process group) and resolves once flock(1) is gone. */
  release(): Promise<void>;
}

const holders = new Set<LockHolder>();

/**
 * holdLock runs `flock -x FILE sh -c 'echo locked; exec sleep 600'` in its own
 * process group and resolves once it printed "locked" (it holds the lock).
 */
export function holdLock(file: string, timeoutMs = 20_000): Promise<LockHolder> {
  const child = spawn("flock", ["-x", file, "sh", "-c", "echo locked; exec sleep 600"], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const holder: LockHolder = {
    async release() {
      holders.delete(holder);
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await closed;
    },
  };
  holders.add(holder);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => fail(new Error(`flock -x ${file} did not get the lock in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      void holder.release().then(() => reject(e));
    };
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("locked\n")) {
        clearTimeout(timer);
        resolve(holder);
      }
    });
    child.once("exit", (code, signal) => fail(new Error(`flock -x ${file} exited (${signal ?? code}) early`)));
  });
}

/** releaseLocks ends every holder that is still running (call it in afterEach). */
export async function releaseLocks(): Promise<void> {
  await Promise.all([...holders].map((h) => h.release()));
}
