/**
 * The README's `npm run demo`: generate a root of realistic runsc state
 * files (10,000 containers) in a temporary directory, then run the built
 * command line against it as a user would, printing each command line, its
 * output and how long it took. The directory is removed at the end, unless
 * `--keep DIR` names where to write the root: it is then left there, with the
 * commands to try on it.
 *
 * Usage: node dist/scripts/demo.js [containers] [--keep DIR]   (after npm run build;
 *        npm run demo -- --keep DIR)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nextSteps } from "../src/cli/commands/generate.js";
import { generateRoot } from "../src/generate/generate.js";

const DEFAULT_CONTAINERS = 10_000;
/** Lines of long outputs (list) shown. */
const HEAD_LINES = 6;

/** repoRoot is the directory above this file holding package.json (from scripts/ or dist/scripts/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("demo: no package.json above scripts/");
    dir = parent;
  }
  return dir;
}

/**
 * tempParent prefers /dev/shm: runsc roots live on tmpfs (/run), and creating
 * many files on a disk file system right after deleting many is slow.
 */
function tempParent(): string {
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK);
    return "/dev/shm";
  } catch {
    return os.tmpdir();
  }
}

interface Step {
  readonly args: readonly string[];
  /** Show only the first lines of stdout. */
  readonly head?: boolean;
  /** Summarize stdout instead of printing it. */
  readonly summarize?: (stdout: string) => string;
}

function run(cli: string, root: string, step: Step): string {
  const shown = step.args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  console.log(`\n$ runsc-index --root ${root} ${shown.join(" ")}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [cli, "--root", root, ...step.args], {
    encoding: "utf8",
    // A progress bar (reconcile) goes straight to this terminal.
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 512 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  let out = r.stdout;
  if (step.summarize) out = `${step.summarize(out)}\n`;
  else if (step.head) {
    const lines = out.split("\n");
    if (lines.length > HEAD_LINES + 1) {
      out = `${lines.slice(0, HEAD_LINES).join("\n")}\n... (${lines.length - 1} lines)\n`;
    }
  }
  process.stdout.write(out);
  console.log(`(exit ${r.status}, ${(ms / 1000).toFixed(2)} s)`);
  if (r.status !== 0 && r.status !== 1) throw new Error(`demo: runsc-index ${step.args.join(" ")} failed`);
  return r.stdout;
}

/** The demo's command line: `[containers] [--keep DIR]`. */
function parseArgs(argv: readonly string[]): { n: number; keep?: string } {
  const rest = [...argv];
  const k = rest.indexOf("--keep");
  let keep: string | undefined;
  if (k >= 0) {
    keep = rest[k + 1];
    if (keep === undefined || keep.startsWith("-")) throw new Error("demo: --keep needs a directory");
    rest.splice(k, 2);
  }
  const n = Number(rest[0] ?? DEFAULT_CONTAINERS);
  if (!Number.isInteger(n) || n < 1 || rest.length > 1) {
    throw new Error(`demo: usage: npm run demo -- [containers] [--keep DIR], got "${argv.join(" ")}"`);
  }
  return keep === undefined ? { n } : { n, keep: path.resolve(keep) };
}

async function main(): Promise<void> {
  const { n, keep } = parseArgs(process.argv.slice(2));
  const cli = path.join(repoRoot(), "dist", "src", "cli", "main.cjs");
  if (!fs.existsSync(cli)) throw new Error(`demo: ${cli} is missing: run npm run build first`);

  // A kept root goes where asked (generateRoot refuses a non-empty directory).
  const dir = keep ?? fs.mkdtempSync(path.join(tempParent(), "runsc-index-demo-"));
  const cleanUp = () => {
    if (keep === undefined) fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    cleanUp();
    process.exit(130);
  });
  let example = "";
  try {
    const root = keep ?? path.join(dir, "k8s.io");
    const started = performance.now();
    const generated = await generateRoot(root, n, { seed: 1 });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mb = (generated.bytes / 1e6).toFixed(0);
    console.log(`Generated ${n} containers (${mb} MB of state files, each with its .lock) in ${root} in ${seconds} s.`);
    console.log("Their sandbox PIDs do not exist on this machine, so runsc would list them all as stopped.");

    const some = generated.containers[Math.floor(n / 3)]!;
    const prefix = some.containerId.slice(0, 6);
    example = prefix;
    run(cli, root, { args: ["reconcile", "--full"] });
    run(cli, root, { args: ["find", prefix] });
    run(cli, root, { args: ["find", prefix, "--json"] });
    run(cli, root, { args: ["list"], head: true });
    run(cli, root, {
      args: ["list", "--format", "json"],
      summarize: (out) => `(one line of ${out.length} bytes: ${(JSON.parse(out) as unknown[]).length} OCI states)`,
    });
    run(cli, root, { args: ["state", prefix] });
    run(cli, root, {
      args: ["query", "SELECT status, count(*) AS containers FROM containers GROUP BY status ORDER BY containers DESC"],
    });
    run(cli, root, {
      args: [
        "query",
        "SELECT pod_namespace, count(DISTINCT sandbox_id) AS sandboxes, count(*) AS containers FROM containers GROUP BY pod_namespace ORDER BY containers DESC LIMIT 5",
      ],
    });
    run(cli, root, {
      args: [
        "query",
        "SELECT container_id, created_at FROM containers WHERE sandbox_id = ? ORDER BY created_at",
        "--param",
        some.sandboxId,
        "--format",
        "csv",
      ],
    });
    run(cli, root, { args: ["doctor"] });
  } finally {
    cleanUp();
  }
  if (keep === undefined) {
    console.log("\nRemoved the demo root. Keep one to explore with: npm run demo -- --keep DIR");
    console.log("See README.md and docs/ for more.");
  } else {
    console.log(`\nThe root is kept in ${keep}.`);
    process.stdout.write(nextSteps("npx runsc-index", keep, example));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
