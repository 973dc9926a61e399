/** `reconcile`: the human summary, --json, --with-state, and the progress bar on a terminal only. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateRoot } from "../../src/generate/generate.js";
import {
  FIXTURE_SANDBOX_ID,
  FIXTURE_STATE_NAMES,
  FIXTURE_SUB_ID,
  makeRoot,
  makeTempDir,
  readFixture,
  removeTempDirs,
  statePath,
  writeState,
} from "../helpers/roots.js";
import { CLI, ensureBuilt, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterAll(removeTempDirs);

interface Report {
  full: boolean;
  scanned: number;
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  invalid: number;
  invalidFiles: { name: string; reason: string }[];
  durationMs: number;
}

function reconcileJson(root: string, ...args: string[]): Report {
  const r = runCli(["--root", root, "reconcile", "--json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout.split("\n")).toHaveLength(2); // one JSON object on one line
  return JSON.parse(r.stdout) as Report;
}

describe("reconcile", () => {
  afterEach(removeTempDirs);

  it("reconcile: a short human summary of what changed, and nothing on stderr when it is not a terminal", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "reconcile"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^incremental reconcile: 2 state files scanned, 2 added, 0 updated, 0 removed, 0 unchanged, 0 invalid in \d+\.\d\d s\n$/,
    );
  });

  it("reconcile --json: counts files added, changed, removed, unchanged and invalid", () => {
    const root = makeRoot({ fixtures: true });
    expect(reconcileJson(root)).toMatchObject({ full: false, scanned: 2, added: 2, unchanged: 0, invalid: 0 });
    writeState(root, { containerId: "added" });
    fs.rmSync(statePath(root, FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID));
    const rootFile = path.join(root, FIXTURE_STATE_NAMES[0]!);
    fs.writeFileSync(rootFile, fs.readFileSync(rootFile, "utf8").replace('"owner":""', '"owner":"x"'));
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":"torn"');
    const report = reconcileJson(root);
    expect(report).toMatchObject({ full: false, scanned: 3, added: 1, updated: 1, removed: 1, invalid: 1 });
    expect(report.invalidFiles).toEqual([{ name: "torn_sandbox:torn.state", reason: expect.stringContaining("JSON") }]);
    expect(report.durationMs).toBeGreaterThan(0);
    expect(reconcileJson(root, "--full")).toMatchObject({ full: true, scanned: 3, added: 0, removed: 0, invalid: 1 });
  });

  it("reconcile: lists invalid files by name and reason under the summary", () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(statePath(root, "torn", "torn"), "");
    const r = runCli(["--root", root, "reconcile"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      expect.stringMatching(/ 3 state files scanned, 2 added, .* 1 invalid in /),
      "invalid: torn_sandbox:torn.state: empty file",
      "",
    ]);
  });

  it("reconcile --with-state: containers.state holds each file's JSON as stored", () => {
    const root = makeRoot({ fixtures: true });
    reconcileJson(root, "--full", "--with-state");
    const r = runCli([
      "--root",
      root,
      "query",
      "SELECT state FROM containers WHERE container_id = ?",
      "--param",
      FIXTURE_SUB_ID,
      "--format",
      "json",
    ]);
    expect(JSON.parse(r.stdout)).toEqual([{ state: readFixture(FIXTURE_STATE_NAMES[1]!).toString("utf8") }]);
  });
});

describe("reconcile on a terminal", () => {
  let root: string;

  beforeAll(async () => {
    root = path.join(makeTempDir("cli-progress"), "root");
    await generateRoot(root, 700, { seed: 2 });
  });

  /** onTerminal runs reconcile with a fresh index on a pseudo-terminal (script(1)) and returns what the terminal got. */
  function onTerminal(...args: string[]): string {
    const dir = makeTempDir("cli-script");
    const cli = [process.execPath, CLI, "--root", root, "--index", path.join(dir, "index.db"), "reconcile", ...args];
    const transcript = path.join(dir, "typescript");
    const r = spawnSync("script", ["-qec", cli.map((a) => JSON.stringify(a)).join(" "), transcript], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    return fs.readFileSync(transcript, "utf8");
  }

  it("reconcile: draws a progress bar on stderr when it is a terminal, and erases it", () => {
    const tty = onTerminal("--full");
    expect(tty).toMatch(/\rreconcile \[[#.]{30}\] \d+\/\d+ files/);
    // Erased before the summary: carriage return, then clear to the end of the line.
    expect(tty).toMatch(/\r\x1b\[Kfull reconcile: 700 state files scanned/);
  });

  it("reconcile: the progress bar counts against every file to read, on a new index too", () => {
    const bars = [...onTerminal().matchAll(/\rreconcile \[[#.]{30}\] (\d+)\/(\d+) files/g)];
    expect(bars.length).toBeGreaterThan(1);
    for (const [, , total] of bars) expect(Number(total)).toBe(700);
  });
});
