/**
 * Driving the real runsc in tests: bundles from `runsc spec`, runsc run with
 * stdin from /dev/null and stdout/stderr redirected to files (never a pipe:
 * the sandbox inherits runsc's stdio and a pipe would never end), every
 * container deleted afterwards, and only processes we started killed, by PID.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { it } from "vitest";

export const RUNSC = findRunsc();
/** Set in CI: a missing runsc fails the suite instead of skipping it. */
export const REQUIRE_RUNSC = process.env.RUNSC_INDEX_REQUIRE_RUNSC === "1";
/** Why the suite cannot run here; undefined when it can. */
export const SKIP_REASON =
  RUNSC === undefined
    ? "runsc is not installed"
    : process.getuid?.() !== 0
      ? "runsc needs root to start sandboxes"
      : undefined;

function findRunsc(): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/bin").split(":")) {
    const p = path.join(dir || ".", "runsc");
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

let registered = 0;

/**
 * runscIt registers a test that needs the real runsc. Where it cannot run,
 * the test is skipped, or fails with RUNSC_INDEX_REQUIRE_RUNSC=1; call
 * reportSkips() once at the end of the file for the one line saying so.
 */
export function runscIt(name: string, fn: () => Promise<void>, timeoutMs = 120_000): void {
  registered += 1;
  if (SKIP_REASON === undefined) it(name, fn, timeoutMs);
  else if (REQUIRE_RUNSC) it(name, () => Promise.reject(new Error(`RUNSC_INDEX_REQUIRE_RUNSC=1 but ${SKIP_REASON}`)));
  else it.skip(name, fn);
}

/** reportSkips prints the one line that says how many runsc tests were skipped and why. */
export function reportSkips(suite: string): void {
  if (SKIP_REASON !== undefined && !REQUIRE_RUNSC) {
    console.log(
      `${suite}: ${registered} tests skipped: ${SKIP_REASON} (RUNSC_INDEX_REQUIRE_RUNSC=1 makes this a failure)`,
    );
  }
}

export interface RunscResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BundleOptions {
  /** The container's command; default `/bin/sleep 1000`. */
  readonly args?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A runsc root in a temporary directory of the test, with the containers
 * created through it remembered for clean-up.
 */
export class RunscRoot {
  readonly root: string;
  readonly #dir: string;
  readonly #created = new Set<string>();
  readonly #pids = new Set<number>();
  #n = 0;

  constructor(dir: string) {
    this.#dir = dir;
    this.root = path.join(dir, "root");
  }

  /** bundle makes a bundle directory (name relative to the test dir) from `runsc spec`. */
  bundle(name: string, options: BundleOptions = {}): string {
    const dir = path.join(this.#dir, name);
    fs.mkdirSync(dir, { recursive: true });
    const r = this.#runIn(dir, ["spec", "--", ...(options.args ?? ["/bin/sleep", "1000"])], {});
    if (r.status !== 0) throw new Error(`runsc spec failed: ${r.stderr}`);
    const file = path.join(dir, "config.json");
    const config = JSON.parse(fs.readFileSync(file, "utf8"));
    config.root = { path: "/", readonly: true };
    config.process.terminal = false;
    if (options.annotations) config.annotations = { ...options.annotations };
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return dir;
  }

  /** run runs `runsc --root R --network=none --platform=ptrace ARGS`, waiting for it to exit. */
  run(args: readonly string[], env: Readonly<Record<string, string>> = {}): RunscResult {
    return this.#runIn(this.#dir, ["--root", this.root, "--network=none", "--platform=ptrace", ...args], env);
  }

  /** runAsync is run without blocking the event loop (for tests that race runsc). */
  runAsync(args: readonly string[]): Promise<RunscResult> {
    const { out, err, fds } = this.#outputFiles();
    const child = spawn(RUNSC!, ["--root", this.root, "--network=none", "--platform=ptrace", ...args], {
      cwd: this.#dir,
      stdio: fds,
    });
    for (const fd of fds) fs.closeSync(fd);
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (status) => resolve({ status, stdout: readAndRemove(out), stderr: readAndRemove(err) }));
    });
  }

  /** create creates a container (remembered for clean-up) and returns its sandbox PID. */
  create(id: string, bundle: string, env: Readonly<Record<string, string>> = {}): void {
    this.#created.add(id);
    this.ok(["create", "--bundle", bundle, id], env);
    for (const pid of this.pidsOf(id)) this.#pids.add(pid);
  }

  /** adoptName remembers an ID for clean-up before it is created (by an asynchronous create). */
  adoptName(id: string): void {
    this.#created.add(id);
  }

  /** adopt remembers a container created elsewhere (another process) for clean-up. */
  adopt(id: string): void {
    this.#created.add(id);
    for (const pid of this.pidsOf(id)) this.#pids.add(pid);
  }

  /** ok runs runsc and throws with its stderr unless it exits 0; returns stdout. */
  ok(args: readonly string[], env: Readonly<Record<string, string>> = {}): string {
    const r = this.run(args, env);
    if (r.status !== 0) throw new Error(`runsc ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** pidsOf reads the sandbox and gofer PIDs from the container's state file (no runsc). */
  pidsOf(id: string): number[] {
    const name = fs.readdirSync(this.root).find((n) => n.startsWith(`${id}_sandbox:`) && n.endsWith(".state"));
    if (name === undefined) return [];
    const doc = JSON.parse(fs.readFileSync(path.join(this.root, name), "utf8"));
    return [doc.sandbox?.pid, doc.goferPid].filter((p): p is number => typeof p === "number" && p > 0);
  }

  /**
   * cleanUp deletes (--force) every container created here, sub-containers
   * first, then SIGKILLs any sandbox or gofer PID recorded at create that
   * still runs the runsc binary (never another process that reused the PID).
   */
  cleanUp(): void {
    for (const id of [...this.#created].reverse()) this.run(["delete", "--force", id]);
    this.#created.clear();
    for (const pid of this.#pids) {
      if (isRunscProcess(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
    this.#pids.clear();
  }

  #outputFiles(): { out: string; err: string; fds: [number, number, number] } {
    this.#n += 1;
    const out = path.join(this.#dir, `.runsc-${this.#n}.out`);
    const err = path.join(this.#dir, `.runsc-${this.#n}.err`);
    return { out, err, fds: [fs.openSync("/dev/null", "r"), fs.openSync(out, "w"), fs.openSync(err, "w")] };
  }

  #runIn(cwd: string, args: readonly string[], env: Readonly<Record<string, string>>): RunscResult {
    const { out, err, fds } = this.#outputFiles();
    try {
      const r = spawnSync(RUNSC!, args, { cwd, stdio: fds, env: { ...process.env, ...env }, timeout: 60_000 });
      return { status: r.status, stdout: readAndRemove(out), stderr: readAndRemove(err) };
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  }
}

function readAndRemove(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  fs.rmSync(file, { force: true });
  return text;
}

/** isRunscProcess: the PID runs /usr/bin/runsc (as runsc-sandbox or runsc-gofer), and is not a zombie we cannot kill anyway. */
export function isRunscProcess(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`) === fs.realpathSync(RUNSC!);
  } catch {
    return false;
  }
}
