/**
 * The command line on a terminal and through a pipe. A terminal is a real
 * pty from util-linux's `script`, which merges stdout and stderr as a
 * terminal shows them.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { isTerminal } from "../../src/cli/terminal.js";
import { generateRoot } from "../../src/generate/generate.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  makeRoot,
  makeTempDir,
  removeTempDirs,
  writeState,
} from "../helpers/roots.js";
import { CLI, ensureBuilt, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

/** shellWord quotes one argument for sh. */
const shellWord = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** onTerminal runs the CLI with stdout and stderr on a pty and returns what the terminal received (\r\n as \n). */
function onTerminal(args: readonly string[]): { status: number | null; screen: string } {
  const line = [process.execPath, CLI, ...args].map(shellWord).join(" ");
  const r = spawnSync("script", ["-qec", line, "/dev/null"], {
    encoding: "utf8",
    env: { ...process.env, SHELL: "/bin/sh", TERM: "xterm" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: r.status, screen: r.stdout.replace(/\r\n/g, "\n") };
}

/** A root with the fixtures plus a second container whose ID starts like the sub-container's. */
function ambiguousRoot(): string {
  const root = makeRoot({ fixtures: true });
  writeState(root, { containerId: `${FIXTURE_SUB_ID.slice(0, 4)}${"0".repeat(60)}`, sandboxId: FIXTURE_SANDBOX_ID });
  return root;
}

describe("ambiguity and not-found errors", () => {
  test("on a terminal the candidates are listed one per line: 12-character IDs, sandbox, status", () => {
    const root = ambiguousRoot();
    const { status, screen } = onTerminal(["--root", root, "find", "95"]);
    expect(status).toBe(4);
    expect(screen).toBe(
      [
        'runsc-index: id "95" is ambiguous and could refer to 2 containers:',
        "  CONTAINER ID   SANDBOX ID     STATUS",
        // Liveness checked: the fixtures' sandbox PID is not alive here.
        `  957900000000   ${FIXTURE_SANDBOX_ID.slice(0, 12)}   stopped`,
        `  ${FIXTURE_SUB_ID.slice(0, 12)}   ${FIXTURE_SANDBOX_ID.slice(0, 12)}   stopped`,
        "",
      ].join("\n"),
    );
  });

  test("--no-trunc lists whole IDs; state and show list the same way", () => {
    const root = ambiguousRoot();
    const full = onTerminal(["--root", root, "state", "95", "--no-trunc"]);
    expect(full.status).toBe(4);
    expect(full.screen).toContain(`  ${FIXTURE_SUB_ID}   ${FIXTURE_SANDBOX_ID}   stopped\n`);
    const show = onTerminal(["--root", root, "show", "95"]);
    expect(show.screen).toContain(`  ${FIXTURE_SUB_ID.slice(0, 12)}   ${FIXTURE_SANDBOX_ID.slice(0, 12)}   stopped\n`);
  });

  test("piped, the error stays one line with every ID (scripts parse it)", () => {
    const r = runCli(["--root", ambiguousRoot(), "find", "95"]);
    expect(r.status).toBe(4);
    expect(r.stderr.split("\n")).toHaveLength(2);
    expect(r.stderr).toContain(`${FIXTURE_SUB_ID} (sandbox ${FIXTURE_SANDBOX_ID})`);
  });

  test("not found under --sandbox names the filter", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "find", "95", "--sandbox", FIXTURE_SUB_ID]);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(`runsc-index: container "95" does not exist in sandbox "${FIXTURE_SUB_ID}" (--sandbox)\n`);
  });
});

describe("progress of a long reconcile", () => {
  test("on a terminal: a bar with rate and ETA, erased at the end; piped: nothing on stderr", async () => {
    const root = path.join(makeTempDir("progress"), "root");
    await generateRoot(root, 3000, { seed: 5 });
    const { status, screen } = onTerminal(["--root", root, "reconcile", "--full"]);
    expect(status).toBe(0);
    expect(screen).toMatch(/\rreconcile \[[#.]{30}\] \d+\/3000 files, (\d+ files\/s, ETA \d+ s|ETA --)/);
    expect(screen).toMatch(/\r\x1b\[Kfull reconcile: 3000 state files scanned/);
    const piped = runCli(["--root", root, "reconcile", "--full"]);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe("");
  });
});

describe("progress of a first index build", () => {
  test("list and query on a root with no index draw an indexing bar on a terminal; piped, nothing", async () => {
    const root = path.join(makeTempDir("first-build"), "root");
    await generateRoot(root, 2000, { seed: 6 });
    const { status, screen } = onTerminal(["--root", root, "list"]);
    expect(status).toBe(0);
    expect(screen).toMatch(/^\rindexing \[[#.]{30}\] \d+\/2000 files/);
    expect(screen).toMatch(/\r\x1b\[KID +PID +STATUS/);
    // A read command builds its index in memory and creates nothing: the next one has no index either.
    expect(fs.existsSync(path.join(root, ".runsc-index"))).toBe(false);
    const piped = runCli(["--root", root, "query", "SELECT count(*) AS n FROM containers"]);
    expect(piped).toMatchObject({ status: 0, stderr: "", stdout: "n\n2000\n" });
  });
});

describe("control characters from state files", () => {
  const bundle = "/run/b\u001b]0;pwned\u0007\u009b2J";

  /** The fixtures, the root container's bundle path holding controls. */
  function rootWithControls(): string {
    const root = makeRoot({ fixtures: true });
    writeState(root, {
      containerId: FIXTURE_ROOT_ID,
      edit: (doc) => {
        doc.bundleDir = bundle;
      },
    });
    return root;
  }

  test("a terminal gets them escaped; a pipe gets runsc's exact bytes", () => {
    const root = rootWithControls();
    // Indexed first, so that no progress bar (which uses \x1b[K) is drawn.
    expect(runCli(["--root", root, "reconcile"]).status).toBe(0);
    const { screen } = onTerminal(["--root", root, "list"]);
    expect(screen).toContain("/run/b\\x1b]0;pwned\\x07\\u009b2J");
    expect(screen).not.toMatch(/[\u0007\u001b\u009b]/);
    const piped = runCli(["--root", root, "list"]);
    expect(piped.stdout).toContain(bundle);
    const json = runCli(["--root", root, "list", "--format", "json"]);
    expect(JSON.parse(json.stdout).find((s: { id: string }) => s.id === FIXTURE_ROOT_ID).bundle).toBe(bundle);
  });

  test("so does a plain state (written without Node's stdout stream); /dev/null is no terminal", () => {
    const root = rootWithControls();
    // JSON escapes the C0 controls itself; U+009B reaches the output raw.
    const { status, screen } = onTerminal(["--root", root, "state", FIXTURE_ROOT_ID]);
    expect(status).toBe(0);
    expect(screen).toContain("\\u009b2J");
    expect(screen).not.toContain("\u009b");
    expect(runCli(["--root", root, "state", FIXTURE_ROOT_ID]).stdout).toContain("\u009b2J");
    expect(isTerminal(fs.openSync("/dev/null", "w"))).toBe(false);
    expect(isTerminal(fs.openSync(path.join(root, "x"), "w"))).toBe(false);
  });
});

describe("one spelling for machine output", () => {
  test("--json is --format json on every command that has --format", () => {
    const root = makeRoot({ fixtures: true });
    const same = (args: string[]) => {
      const a = runCli(["--root", root, ...args, "--json"]);
      const b = runCli(["--root", root, ...args, "--format", "json"]);
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      return JSON.parse(a.stdout);
    };
    expect(same(["find", "95"])).toEqual({ containerId: FIXTURE_SUB_ID, sandboxId: FIXTURE_SANDBOX_ID });
    expect(same(["list"])).toHaveLength(2);
    expect(same(["query", "SELECT count(*) AS n FROM containers"])).toEqual([{ n: 2 }]);
    expect(same(["prune", "--dry-run"])).toBeTypeOf("object");
    for (const args of [["reconcile"], ["doctor"]]) {
      for (const spelling of [["--json"], ["--format", "json"]]) {
        const r = runCli(["--root", root, ...args, ...spelling]);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toBeTypeOf("object");
      }
    }
    const both = runCli(["--root", root, "find", "95", "--json", "--format", "text"]);
    expect(both.status).toBe(2);
  });

  test("list --format csv has runsc's columns", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "list", "--format", "csv"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("ID,PID,STATUS,BUNDLE,CREATED,OWNER");
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual([FIXTURE_SUB_ID, FIXTURE_ROOT_ID]);
  });
});
