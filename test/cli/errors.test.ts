/**
 * Exit codes (0 ok, 1 error, 2 usage or invalid ID, 3 not found,
 * 4 ambiguous, 5 locked), the one-line `runsc-index: ...` on stderr, the
 * JSON error object on stdout with --json, --root's default, and --help.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  lockPath,
  makeRoot,
  makeTempDir,
  removeTempDirs,
  statePath,
} from "../helpers/roots.js";
import { ensureBuilt, errorLine, holdLock, releaseLocks, runCli, runCliAsync } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(async () => {
  await releaseLocks();
  removeTempDirs();
});

/** jsonError parses stdout as exactly one line holding {"error":{"code","message",...}}. */
function jsonError(stdout: string): { code: string; message: string; candidates?: unknown[] } {
  const lines = stdout.split("\n");
  expect(lines).toHaveLength(2);
  const parsed = JSON.parse(lines[0]!) as { error: { code: string; message: string; candidates?: unknown[] } };
  expect(Object.keys(parsed)).toEqual(["error"]);
  return parsed.error;
}

describe("exit codes", () => {
  it("0: success prints to stdout and nothing to stderr", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "find", "9f4"]);
    expect(r).toMatchObject({ status: 0, stderr: "", stdout: `${FIXTURE_ROOT_ID}\n` });
  });

  it("1: a refused query is ERR_READONLY_QUERY; the JSON error goes to stdout with --format json", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "query", "DELETE FROM containers", "--format", "json"]);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/^runsc-index: query "DELETE FROM containers" .*read-only/);
    expect(jsonError(r.stdout)).toEqual({ code: "ERR_READONLY_QUERY", message: errorLine(r.stderr).slice(13) });
  });

  it("1: a corrupt state file is ERR_CORRUPT_STATE naming the file", () => {
    const root = makeRoot();
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":"torn"');
    const r = runCli(["--root", root, "state", "torn"]);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toContain('reading state file "torn_sandbox:torn.state"');
  });

  it("1: an index from a newer schema is refused with ERR_INDEX_SCHEMA and left as it was", () => {
    const root = makeRoot({ fixtures: true });
    const index = path.join(makeTempDir("cli"), "index.db");
    const db = new Database(index);
    db.pragma("user_version = 999");
    db.close();
    const before = fs.readFileSync(index);
    const r = runCli(["--root", root, "--index", index, "find", "9f4", "--json"]);
    expect(r.status).toBe(1);
    expect(jsonError(r.stdout).code).toBe("ERR_INDEX_SCHEMA");
    expect(errorLine(r.stderr)).toContain("999");
    expect(fs.readFileSync(index).equals(before)).toBe(true);
  });

  it("2: an invalid ID is ERR_INVALID_ID, before anything is read", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "find", "../etc", "--json"]);
    expect(r.status).toBe(2);
    expect(errorLine(r.stderr)).toBe('runsc-index: invalid container ID "../etc": only [A-Za-z0-9_+.-] are allowed');
    expect(jsonError(r.stdout).code).toBe("ERR_INVALID_ID");
  });

  it("2: usage errors (unknown option, missing argument, bad choice, bad number, extra argument) are ERR_USAGE", () => {
    const root = makeRoot({ fixtures: true });
    const cases: [string[], RegExp][] = [
      [["find", "9f4", "--bogus"], /unknown option '--bogus'/],
      [["find"], /missing required argument 'prefix'/],
      [["list", "--status", "sleeping"], /option '--status <status>' argument 'sleeping' is invalid/],
      [["--lock-timeout", "soon", "state", "9f4"], /whole number of milliseconds/],
      [["find", "9f4", "extra"], /too many arguments/],
      [["frobnicate"], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(["--root", root, ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(errorLine(r.stderr)).toMatch(message);
      expect(r.stdout).toBe("");
    }
    const json = runCli(["--root", root, "find", "9f4", "--json", "--bogus"]);
    expect(json.status).toBe(2);
    expect(jsonError(json.stdout).code).toBe("ERR_USAGE");
  });

  it("2: a bad query (SQL syntax, mixed parameters) is ERR_INVALID_ARGUMENT", () => {
    const root = makeRoot({ fixtures: true });
    const syntax = runCli(["--root", root, "query", "SELECT FROM WHERE", "--format", "json"]);
    expect(syntax.status).toBe(2);
    expect(jsonError(syntax.stdout).code).toBe("ERR_INVALID_ARGUMENT");
    const mixed = runCli(["--root", root, "query", "SELECT ?", "--param", "1", "--named", "a=1"]);
    expect(mixed.status).toBe(2);
    expect(errorLine(mixed.stderr)).toContain("not both");
  });

  it("2: no command at all shows the help on stderr", () => {
    const r = runCli([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Usage: runsc-index");
  });

  it("3: no container with that prefix is ERR_NOT_FOUND", () => {
    const root = makeRoot({ fixtures: true });
    for (const cmd of ["find", "state", "show"]) {
      const r = runCli(["--root", root, cmd, "abc"]);
      expect(r.status, cmd).toBe(3);
      expect(errorLine(r.stderr)).toBe('runsc-index: container "abc" does not exist');
    }
    const json = runCli(["--root", root, "find", "abc", "--json"]);
    expect(jsonError(json.stdout)).toEqual({ code: "ERR_NOT_FOUND", message: 'container "abc" does not exist' });
  });

  it("4: an ambiguous prefix is ERR_AMBIGUOUS_ID listing every candidate", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "find", "9", "--json"]);
    expect(r.status).toBe(4);
    const line = errorLine(r.stderr);
    expect(line).toContain('id "9" is ambiguous and could refer to 2 containers');
    expect(line).toContain(`${FIXTURE_SUB_ID} (sandbox ${FIXTURE_SANDBOX_ID})`);
    const error = jsonError(r.stdout);
    expect(error.code).toBe("ERR_AMBIGUOUS_ID");
    expect(error.candidates).toEqual([
      { containerId: FIXTURE_SUB_ID, sandboxId: FIXTURE_SANDBOX_ID },
      { containerId: FIXTURE_ROOT_ID, sandboxId: FIXTURE_SANDBOX_ID },
    ]);
    expect(runCli(["--root", root, "state", "9"]).status).toBe(4);
  });

  it("5: a container lock held by another process past --lock-timeout is ERR_LOCK_TIMEOUT naming the lock file", async () => {
    const root = makeRoot({ fixtures: true });
    const lock = lockPath(root, FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID);
    const holder = await holdLock(lock);
    const r = await runCliAsync(["--root", root, "--lock-timeout", "300", "state", "9579"]);
    expect(r.status).toBe(5);
    expect(errorLine(r.stderr)).toBe(`runsc-index: acquiring lock on "${lock}": timed out after 300 ms`);
    expect(r.stdout).toBe("");
    await holder.release();
    const after = await runCliAsync(["--root", root, "--lock-timeout", "300", "state", "9579"]);
    expect(after.status).toBe(0);
  });
});

describe("--root and --help", () => {
  it("--root defaults to $XDG_RUNTIME_DIR/runsc when XDG_RUNTIME_DIR is set", () => {
    const xdg = makeTempDir("xdg");
    const root = path.join(xdg, "runsc");
    fs.cpSync(makeRoot({ fixtures: true }), root, { recursive: true });
    const r = runCli(["find", "9579"], { env: { XDG_RUNTIME_DIR: xdg } });
    expect(r).toMatchObject({ status: 0, stdout: `${FIXTURE_SUB_ID}\n` });
  });

  it("--root defaults to /var/run/runsc when XDG_RUNTIME_DIR is unset or empty", () => {
    for (const env of [{}, { XDG_RUNTIME_DIR: "" }] as Record<string, string>[]) {
      expect(runCli(["--help"], { env }).stdout).toMatch(/--root <dir>[\s\S]*\(default:\s+"\/var\/run\/runsc"\)/);
    }
    expect(runCli(["--help"], { env: { XDG_RUNTIME_DIR: "/run/user/1000" } }).stdout).toContain(
      '"/run/user/1000/runsc"',
    );
  });

  it("--help: every command's help shows an example and exits 0", () => {
    for (const cmd of ["reconcile", "find", "list", "state", "show", "query", "watch", "export", "prune", "doctor"]) {
      const r = runCli([cmd, "--help"]);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Examples?:\n {2}\$ runsc-index /);
      expect(r.stdout, cmd).toContain(`Usage: runsc-index ${cmd}`);
    }
  });
});
