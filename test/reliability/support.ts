/**
 * Shared pieces of the reliability suite: child processes running our code
 * through tsx, directory snapshots (what changed, byte for byte), and the
 * "live index equals a fresh rebuild" comparison.
 */
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openStore, type Store } from "../../src/index.js";
import { REPO_ROOT, type Spawned, spawnTsx, waitUntil } from "../helpers/foreign.js";
import { makeTempDir } from "../helpers/roots.js";

/** workerPath is the absolute path of a script in test/reliability/workers/. */
export function workerPath(name: string): string {
  return fileURLToPath(new URL(`./workers/${name}`, import.meta.url));
}

/** spawnWorker runs test/reliability/workers/<name> with `node --import tsx` (killSpawned() ends it). */
export function spawnWorker(name: string, args: readonly string[] = []): Spawned {
  return spawnTsx(workerPath(name), args);
}

/** RUNSC_INDEX_SOAK=N multiplies the counts of the crash and concurrency suites (default 1). */
export function soakFactor(): number {
  const n = Number(process.env.RUNSC_INDEX_SOAK ?? "1");
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

export interface ShellResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ShellChild {
  /** Resolves once stdout has printed the line `line`; rejects if the shell exits first. */
  line(line: string): Promise<void>;
  /** Resolves with the exit status and all output once it exited (never rejects). */
  readonly finished: Promise<ShellResult>;
}

const shells = new Set<ChildProcess>();

/** runShell runs `sh -c script` (argv after it: $0, $1, ...) from the repository root; killShells() ends it. */
export function runShell(script: string, argv: readonly string[] = []): ShellChild {
  const proc = spawn("sh", ["-c", script, ...argv], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  shells.add(proc);
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const finished = new Promise<ShellResult>((resolve) =>
    proc.once("close", (code, signal) => {
      shells.delete(proc);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  const hasLine = (line: string) => stdout.split("\n").slice(0, -1).includes(line);
  return {
    finished,
    line: async (line) => {
      const done = finished.then(() => {
        if (!hasLine(line)) throw new Error(`sh exited before printing "${line}": ${stderr.trim()}`);
      });
      done.catch(() => {});
      await Promise.race([waitUntil(`sh printed "${line}"`, () => hasLine(line), { timeoutMs: 60_000 }), done]);
    },
  };
}

/** killShells SIGKILLs every shell's process group still running and waits for it to exit. */
export async function killShells(): Promise<void> {
  await Promise.all(
    [...shells].map((proc) => {
      const closed = new Promise<void>((resolve) => proc.once("close", () => resolve()));
      try {
        process.kill(-proc.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      return closed;
    }),
  );
}

function sha256(data: Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** garbage returns n bytes of a fixed pseudo-random stream (an LCG): the same junk on every run. */
export function garbage(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * snapshotDir describes every entry under dir (recursively, sorted): the
 * type, mode, mtime and content hash of regular files, symlink targets, and
 * the type and mtime of anything else (a FIFO is never opened). Entries
 * whose relative path starts with one of `skip` are left out.
 */
export function snapshotDir(dir: string, skip: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (skip.some((s) => r === s || r.startsWith(`${s}/`))) continue;
      const full = path.join(dir, r);
      const st = fs.lstatSync(full);
      const meta = `${(st.mode & 0o7777).toString(8)} mtime ${st.mtimeMs}`;
      if (st.isSymbolicLink()) out[r] = `symlink -> ${fs.readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${meta}`;
        walk(r);
      } else if (st.isFile()) out[r] = `file ${meta} ${st.size} ${sha256(fs.readFileSync(full))}`;
      else out[r] = `other ${st.mode.toString(8)} mtime ${st.mtimeMs}`;
    }
  };
  walk("");
  return out;
}

/** Columns that differ between two correct indexes by design: when a row was read, and the optional full JSON. */
const VOLATILE_COLUMNS = new Set(["indexed_at", "state"]);

export interface IndexContents {
  readonly containers: readonly Record<string, unknown>[];
  readonly invalidFiles: readonly Record<string, unknown>[];
}

/** indexContents reads every row (less the volatile columns) and the invalid files through the public query API. */
export async function indexContents(store: Store): Promise<IndexContents> {
  const rows = (await store.query("SELECT * FROM containers ORDER BY container_id, sandbox_id")).rows;
  return {
    containers: rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE_COLUMNS.has(k)))),
    invalidFiles: (await store.query("SELECT name, reason FROM invalid_files ORDER BY name")).rows,
  };
}

/** freshRebuild builds a brand-new index of root in a directory of its own and returns its contents. */
export async function freshRebuild(root: string): Promise<IndexContents> {
  const dir = makeTempDir("rebuild");
  const store = openStore({ root, index: path.join(dir, "index.db") });
  try {
    await store.reconcile({ full: true });
    return await indexContents(store);
  } finally {
    store.close();
  }
}

/** stateNames lists the state-file names in root (runsc's glob `*_sandbox:*.state`), sorted. */
export function stateNames(root: string): string[] {
  return fs
    .readdirSync(root)
    .filter((n) => /_sandbox:.*\.state$/.test(n))
    .sort();
}
