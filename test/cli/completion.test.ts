import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  makeRoot,
  makeTempDir,
  removeTempDirs,
} from "../helpers/roots.js";
import { CLI, ensureBuilt, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

/** A directory holding a `runsc-index` executable that runs the built CLI, for PATH. */
function binDir(): string {
  const dir = makeTempDir("bin");
  const exe = path.join(dir, "runsc-index");
  fs.writeFileSync(exe, `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  return dir;
}

/**
 * bashComplete sources the bash script, sets COMP_WORDS/COMP_CWORD to `words`
 * (the last one is the word being completed), calls the completion function
 * and returns COMPREPLY.
 */
function bashComplete(script: string, bin: string, words: readonly string[]): string[] {
  const file = path.join(bin, "completion.bash");
  fs.writeFileSync(file, script);
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _runsc_index; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["-c", program, "bash", file, ...words], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("runsc-index completion bash, run by bash", () => {
  test("commands, options, choices, and container and sandbox IDs from the index", () => {
    const root = makeRoot({ fixtures: true });
    expect(runCli(["--root", root, "reconcile"]).status).toBe(0);
    const bin = binDir();
    const script = runCli(["completion", "bash"]);
    expect(script.status).toBe(0);
    const complete = (...words: string[]) => bashComplete(script.stdout, bin, ["runsc-index", ...words]);

    expect(complete("")).toEqual(expect.arrayContaining(["find", "list", "state", "show", "query", "watch"]));
    expect(complete("fi")).toEqual(["find"]);
    expect(complete("--ro")).toEqual(["--root"]);
    expect(complete("--root", root, "find", "9")).toEqual([FIXTURE_SUB_ID, FIXTURE_ROOT_ID]);
    expect(complete("--root", root, "state", "95")).toEqual([FIXTURE_SUB_ID]);
    expect(complete("--root", root, "show", "--sandbox", "9f")).toEqual([FIXTURE_SANDBOX_ID]);
    expect(complete("--root", root, "list", "--format", "")).toEqual(["table", "json", "csv", "ids"]);
    expect(complete("--root", root, "list", "--s")).toEqual(["--sandbox", "--status", "--strict-liveness"]);
    expect(complete("--root", root, "find", "x")).toEqual([]);
    expect(complete("completion", "")).toEqual(["bash", "zsh", "fish"]);
  });
});

describe("the __complete fast path", () => {
  test("prints IDs with the prefix, one per line; without an index it prints nothing and creates nothing", () => {
    const root = makeRoot({ fixtures: true });
    const none = runCli(["--root", root, "__complete", "9"]);
    expect(none).toMatchObject({ status: 0, stdout: "", stderr: "" });
    expect(fs.readdirSync(root).some((n) => n.startsWith(".runsc-index"))).toBe(false);
    runCli(["--root", root, "reconcile"]);
    expect(runCli(["--root", root, "__complete", "9f4"]).stdout).toBe(`${FIXTURE_ROOT_ID}\n`);
    expect(runCli(["--root", root, "__complete", "--sandboxes", ""]).stdout).toBe(`${FIXTURE_SANDBOX_ID}\n`);
  });
});

describe("zsh and fish scripts", () => {
  test("name every command and ask __complete for IDs with the line's --root", () => {
    for (const shell of ["zsh", "fish"]) {
      const r = runCli(["completion", shell]);
      expect(r.status).toBe(0);
      for (const command of ["find", "list", "state", "show", "query", "watch", "completion"]) {
        expect(r.stdout).toContain(command);
      }
      expect(r.stdout).toContain("__complete");
      expect(r.stdout).toContain("--root");
    }
    expect(runCli(["completion", "zsh"]).stdout.startsWith("#compdef runsc-index\n")).toBe(true);
    expect(runCli(["completion", "tcsh"]).status).toBe(2);
  });

  test.runIf(spawnSync("zsh", ["--version"]).status === 0)("zsh parses its script", () => {
    const file = path.join(makeTempDir("zsh"), "_runsc-index");
    fs.writeFileSync(file, runCli(["completion", "zsh"]).stdout);
    expect(spawnSync("zsh", ["-n", file]).status).toBe(0);
  });
});
