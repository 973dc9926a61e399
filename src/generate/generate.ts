import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { RunscIndexError } from "../errors.js";
import { type FileVars, planSandbox } from "./plan.js";
import { Prng } from "./prng.js";
import { loadStateTemplates, type StateTemplates } from "./state-templates.js";
import { render, type Template } from "./template.js";

/** GeneratedRoot describes a root written by generateRoot; containers are in the order written. */
export type GeneratedRoot = {
  /** The root, made absolute: it is also what the files' saver.rootDir says. */
  dir: string;
  containers: Array<{ containerId: string; sandboxId: string }>;
  /** Total size of the state files (lock files are empty). */
  bytes: number;
};

export type GenerateOptions = {
  /** PRNG seed; the same seed and n give the same IDs and contents. Default 1. */
  seed?: number;
  /** Write an empty .lock (0600) beside every state file, as runsc does. Default true. */
  withLocks?: boolean;
};

const STATE_MODE = 0o640;
const LOCK_MODE = 0o600;
const ROOT_MODE = 0o711;
// Files written between event-loop turns: long enough to amortise the yield,
// short enough that timers in the caller still fire during a 100k root.
const BATCH = 2000;

/**
 * generateRoot writes a runsc root of n containers in sandboxes of 1 to 5
 * (root + 0..4 subs; the last sandbox may be cut short) into `dir`, created
 * with mode 0711 if missing, each state file with an empty .lock beside it.
 * Throws ERR_INVALID_ARGUMENT for a bad `n` or if `dir` already has entries
 * (a benchmark never measures leftovers, and no existing root is mixed into), ERR_IO.
 *
 * On an ext4 without a journal (as on this machine) creating files right after
 * deleting many is slow: ext4 skips inodes deleted in the last 1-6 minutes with
 * a linear scan, ~1 ms per create. Put roots on tmpfs (TMPDIR=/dev/shm; real
 * runsc roots live on /run, a tmpfs) or reuse them rather than rm + regenerate.
 */
export async function generateRoot(root: string, n: number, opts: GenerateOptions = {}): Promise<GeneratedRoot> {
  if (!Number.isInteger(n) || n < 0)
    throw new RunscIndexError(
      "ERR_INVALID_ARGUMENT",
      `generating a root: the count must be a non-negative integer, got ${n}`,
    );
  const dir = resolve(root);
  prepareDir(dir);
  const prng = new Prng(opts.seed ?? 1);
  const templates = loadStateTemplates(dir);
  const writer = new RootWriter(dir, templates, opts.withLocks ?? true);
  for (let sandbox = 0; writer.count < n; sandbox++) {
    const files = planSandbox(prng, sandbox, Math.min(1 + prng.int(5), n - writer.count));
    for (const [j, v] of files.entries()) writer.write(v, j === 0);
    if (writer.count % BATCH < files.length) await yieldToLoop();
  }
  return { dir, containers: writer.containers, bytes: writer.bytes };
}

function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: ROOT_MODE });
  // runsc's MkdirAll(root, 0711); chmod too, since umask or mkdtemp (0700) may have narrowed it.
  chmodSync(dir, ROOT_MODE);
  if (readdirSync(dir).length > 0) {
    throw new RunscIndexError("ERR_INVALID_ARGUMENT", `generating a root in "${dir}": the directory is not empty`);
  }
}

class RootWriter {
  readonly containers: GeneratedRoot["containers"] = [];
  bytes = 0;
  // Set after the first file if the umask narrowed the modes runsc would get.
  #chmod = false;
  // Templates whose output has been checked to parse, once each.
  #checked = new Set<Template<FileVars>>();

  constructor(
    readonly dir: string,
    readonly templates: StateTemplates,
    readonly withLocks: boolean,
  ) {}

  get count(): number {
    return this.containers.length;
  }

  write(v: FileVars, isRoot: boolean): void {
    const template = isRoot ? this.templates.root : this.templates.sub;
    const text = render(template, v);
    if (!this.#checked.has(template)) this.#check(template, text);
    const base = `${this.dir}/${v.containerId}_sandbox:${v.sandboxId}`;
    writeFileSync(base + ".state", text, { mode: STATE_MODE });
    if (this.withLocks) writeFileSync(base + ".lock", "", { mode: LOCK_MODE });
    if (this.count === 0) this.#chmod = (lstatSync(base + ".state").mode & 0o777) !== STATE_MODE;
    if (this.#chmod) this.#fixModes(base);
    this.bytes += Buffer.byteLength(text);
    this.containers.push({ containerId: v.containerId, sandboxId: v.sandboxId });
  }

  // A broken template should fail here, not later inside a benchmark.
  #check(template: Template<FileVars>, text: string): void {
    JSON.parse(text);
    this.#checked.add(template);
  }

  #fixModes(base: string): void {
    chmodSync(base + ".state", STATE_MODE);
    if (this.withLocks) chmodSync(base + ".lock", LOCK_MODE);
  }
}
