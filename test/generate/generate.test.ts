import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { SANDBOX_STATE_TEXT, SUB_STATE_TEXT } from "../../src/generate/fixture-text.js";
import { generateRoot } from "../../src/generate/generate.js";
import { ensureBuilt, REPO_ROOT, runCli } from "../cli/cli.js";
import { FIXTURE_STATE_NAMES, makeTempDir, readFixture, removeTempDirs } from "../helpers/roots.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

describe("the generator", () => {
  test("embeds the fixtures byte for byte (the package has no test/ directory)", () => {
    expect(SANDBOX_STATE_TEXT).toBe(readFixture(FIXTURE_STATE_NAMES[0]!).toString("utf8"));
    expect(SUB_STATE_TEXT).toBe(readFixture(FIXTURE_STATE_NAMES[1]!).toString("utf8"));
  });

  test("writes parseable state files, each with a .lock, in pods of 1 to 5 containers", async () => {
    const root = path.join(makeTempDir("generate"), "root");
    const generated = await generateRoot(root, 200, { seed: 7 });
    const names = fs.readdirSync(root).sort();
    expect(names.filter((n) => n.endsWith(".state"))).toHaveLength(200);
    expect(names.filter((n) => n.endsWith(".lock"))).toHaveLength(200);
    const pods = new Map<string, number>();
    for (const { containerId, sandboxId } of generated.containers) {
      const base = path.join(root, `${containerId}_sandbox:${sandboxId}`);
      const doc = JSON.parse(fs.readFileSync(`${base}.state`, "utf8"));
      expect(doc.id).toBe(containerId);
      expect(doc.sandbox.id).toBe(sandboxId);
      expect(fs.statSync(`${base}.lock`).size).toBe(0);
      pods.set(sandboxId, (pods.get(sandboxId) ?? 0) + 1);
    }
    const sizes = [...pods.values()];
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5);
    expect(new Set(sizes).size).toBeGreaterThan(2); // pods of several sizes, not one shape
  });
});

describe("runsc-index generate", () => {
  test("writes a root and prints next commands that work on it", () => {
    const root = path.join(makeTempDir("generate"), "root");
    const r = runCli(["generate", root, "--count", "60"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Generated 60 containers in \d+ sandboxes/);
    expect(r.stdout).toContain("Next, try:");
    // The printed find command names a prefix of a generated container.
    const find = /runsc-index --root (\S+) find (\w+)\n/.exec(r.stdout);
    expect(find?.[1]).toBe(root);
    const found = runCli(["--root", root, "find", find![2]!]);
    expect(found.status).toBe(0);
    expect(found.stdout).toMatch(new RegExp(`^${find![2]}[0-9a-f]{58}\\n$`));
  });

  test("--json reports the root; a non-empty directory is refused naming it (exit 2)", () => {
    const root = path.join(makeTempDir("generate"), "root");
    const r = runCli(["generate", root, "-n", "5", "--seed", "3", "--json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ root, containers: 5 });
    const again = runCli(["generate", root, "-n", "5"]);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`runsc-index: generating a root in "${root}": the directory is not empty\n`);
    expect(fs.readdirSync(root)).toHaveLength(10); // nothing added or removed
  });
});

describe("npm run demo -- --keep DIR", () => {
  test("leaves the root in DIR and prints the commands to try on it", () => {
    const keep = path.join(makeTempDir("demo"), "kept");
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/demo.ts", "40", "--keep", keep], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(keep).filter((n) => n.endsWith(".state"))).toHaveLength(40);
    expect(r.stdout).toContain(`The root is kept in ${keep}.`);
    expect(r.stdout).toContain(`npx runsc-index --root ${keep} find `);
  });
});
