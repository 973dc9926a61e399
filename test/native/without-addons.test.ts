/**
 * The package where node-gyp built nothing (no compiler at install): a copy
 * of the built package without build/Release runs every command that the
 * addons speed up (full reconcile's scanner; flock, close, getdents64, statx
 * and kill) through the JavaScript and koffi paths, and must print the same
 * bytes and exit with the same status as the package with them.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, cliEnv, ensureBuilt, REPO_ROOT } from "../cli/cli.js";
import { holdForeignLock, killSpawned } from "../helpers/foreign.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";

beforeAll(() => ensureBuilt(), 120_000);
afterEach(async () => {
  await killSpawned();
  removeTempDirs();
});

/** withoutAddons: the built package (dist, package.json, migrations, node_modules) with no build/ folder beside it. */
function withoutAddons(): string {
  const copy = makeTempDir("no-addons");
  fs.cpSync(path.join(REPO_ROOT, "dist"), path.join(copy, "dist"), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, "migrations"), path.join(copy, "migrations"), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(copy, "package.json"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(copy, "node_modules"));
  expect(fs.existsSync(path.join(copy, "build"))).toBe(false);
  return path.join(copy, "dist", "src", "cli", "main.cjs");
}

function run(cli: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: cliEnv(), timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("without the native addons", () => {
  it("reconcile, list, state and find answer as with them, and a held lock times out the same way", async () => {
    const plain = withoutAddons();
    const roots = { with: makeRoot({ fixtures: true }), without: makeRoot({ fixtures: true }) };
    for (const root of Object.values(roots)) {
      for (const id of ["c1", "c2", "held"]) writeState(root, { containerId: id, sandboxId: "s1" });
      fs.writeFileSync(path.join(root, "torn_sandbox:torn.state"), '{"id":"torn","sta');
    }
    const answers = (cli: string, root: string) => {
      const lines = [
        ["reconcile", "--full", "--json"],
        ["list"],
        ["list", "--format", "json"],
        ["list", "--format", "csv"],
        ["state", "c1"],
        ["find", "c"],
        ["find", "held"],
        ["--lock-timeout", "300", "state", "held"],
      ];
      return lines.map((line) => {
        const r = run(cli, ["--root", root, ...line]);
        // Timings and the root's own path differ between the two runs; nothing else may.
        const same = (s: string) => s.replaceAll(root, "ROOT").replace(/"durationMs":[\d.e+-]+/g, '"durationMs":0');
        return { line: line.join(" "), status: r.status, stdout: same(r.stdout), stderr: same(r.stderr) };
      });
    };
    await holdForeignLock(lockPath(roots.with, "held", "s1"));
    await holdForeignLock(lockPath(roots.without, "held", "s1"));
    const withThem = answers(CLI, roots.with);
    const withoutThem = answers(plain, roots.without);
    expect(withoutThem).toEqual(withThem);
    // What the lines must show for the comparison to mean anything:
    expect(withThem[0]!.stdout).toContain('"invalid":1');
    expect(withThem[1]!.stdout.trimEnd().split("\n").length).toBeGreaterThan(3);
    expect(withThem[4]!.status).toBe(0);
    expect(withThem[7]!.status).toBe(5);
    expect(withThem[7]!.stderr).toContain("held_sandbox:s1.lock");
  });
});
