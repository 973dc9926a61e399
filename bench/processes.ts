import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./fixtures.js";

/**
 * Whole-process measurements: each run is one spawnSync, timed from before
 * the spawn to after the exit, so every method pays the same fork/exec and
 * Node start-up. Output goes to a file (as `> file` would), not through a
 * pipe the parent must drain while the clock runs.
 */

/** benchScript returns dist/bench/<name>.js; throws if it has not been built. */
export function benchScript(name: string): string {
  const path = join(repoRoot(), "dist", "bench", `${name}.js`);
  if (!existsSync(path)) throw new Error(`finding "${path}": not built; run \`npm run build\` first`);
  return path;
}

/** cliScript returns dist/src/cli/main.cjs, or undefined while the CLI is not built. */
export function cliScript(): string | undefined {
  const path = join(repoRoot(), "dist", "src", "cli", "main.cjs");
  return existsSync(path) ? path : undefined;
}

/** A process to run: argv[0] is the program. */
export type Command = { label: string; argv: readonly string[] };

/** runTimed runs a command with stdout to `stdoutFile` (or /dev/null); returns the wall time in µs. Throws on a non-zero exit. */
export function runTimed(cmd: Command, stdoutFile = "/dev/null"): number {
  const out = openSync(stdoutFile, "w");
  try {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd.argv[0]!, cmd.argv.slice(1), { stdio: ["ignore", out, "pipe"], encoding: "utf8" });
    const us = Number(process.hrtime.bigint() - start) / 1000;
    if (r.error) throw new Error(`running ${cmd.label}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`running ${cmd.label}: exit ${r.status ?? r.signal}: ${r.stderr.trim()}`);
    return us;
  } finally {
    closeSync(out);
  }
}

/** runJson runs a command that prints one JSON object as its last stdout line and returns it. Throws on failure. */
export function runJson<T>(argv: readonly string[], label: string): T {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw new Error(`running ${label}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`running ${label}: exit ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`running ${label}: expected a JSON line, got "${last.slice(0, 200)}"`);
  }
}
