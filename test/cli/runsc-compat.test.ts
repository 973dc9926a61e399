/**
 * `list` and `state` print exactly what runsc prints for the same root:
 * compared byte for byte with runsc's recorded output for the fixtures,
 * with the sandbox dead (its PID does not exist here) and alive (a real
 * child process as the sandbox).
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { killSpawned } from "../helpers/foreign.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_SUB_ID,
  makeRoot,
  makeTempDir,
  removeTempDirs,
  type StateSpec,
  writeState,
} from "../helpers/roots.js";
import { startStandInSandbox } from "../helpers/stand-in-sandbox.js";
import { ensureBuilt, errorLine, readCliOutput, runCli } from "./cli.js";

beforeAll(ensureBuilt);

const sleepers: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(
    sleepers.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  await killSpawned();
  removeTempDirs();
});

const STATE_ROOT = `runsc-state-${FIXTURE_ROOT_ID}.json`;
const STATE_SUB = `runsc-state-${FIXTURE_SUB_ID}.json`;
/** The fixtures' createdAt values, as runsc list prints them. */
const FIXTURE_CREATED_ROOT = "2026-08-12T14:03:27.418862107Z";
const FIXTURE_CREATED_SUB = "2026-08-12T14:03:31.209466553Z";
const FIXTURE_PID = "412345";

function list(root: string, ...args: string[]): string {
  const r = runCli(["--root", root, "list", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

function state(root: string, id: string): string {
  const r = runCli(["--root", root, "state", id]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

/** startSandboxProcess runs `sleep 600` as a stand-in sandbox; returns it and a time just before it started. */
function startSandboxProcess(): { pid: number; startedAfterMs: number } {
  const startedAfterMs = Date.now();
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  sleepers.push(child);
  if (child.pid === undefined) throw new Error("could not spawn sleep");
  return { pid: child.pid, startedAfterMs };
}

/**
 * A Go RFC3339Nano UTC time as long as the fixtures' (nine fraction digits):
 * the milliseconds of `ms`, then six more digits (the last non-zero).
 */
function nanoTime(ms: number, subMs: string): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${subMs}Z`;
}

describe("list and state with the sandbox dead", () => {
  it("list: the table is byte-identical to runsc list", () => {
    const root = makeRoot({ fixtures: true });
    expect(list(root)).toBe(readCliOutput("sandbox-dead", "runsc-list.txt"));
  });

  it("list --format json: byte-identical to runsc list --format=json", () => {
    const root = makeRoot({ fixtures: true });
    expect(list(root, "--format", "json")).toBe(readCliOutput("sandbox-dead", "runsc-list-format-json.json"));
  });

  it("state: byte-identical to runsc state, for a full ID and for a prefix", () => {
    const root = makeRoot({ fixtures: true });
    expect(state(root, FIXTURE_ROOT_ID)).toBe(readCliOutput("sandbox-dead", STATE_ROOT));
    expect(state(root, FIXTURE_SUB_ID.slice(0, 4))).toBe(readCliOutput("sandbox-dead", STATE_SUB));
  });

  it("list --format ids and -q: one container ID per line", () => {
    const root = makeRoot({ fixtures: true });
    const expected = `${FIXTURE_SUB_ID}\n${FIXTURE_ROOT_ID}\n`;
    expect(list(root, "--format", "ids")).toBe(expected);
    expect(list(root, "-q")).toBe(expected);
  });

  it("list: a live PID that is not the sandbox: created stays created (kill(pid, 0) succeeds), running is stopped (no control socket)", () => {
    const root = makeRoot();
    const other = startSandboxProcess();
    writeState(root, { containerId: FIXTURE_ROOT_ID, pid: other.pid });
    writeState(root, { containerId: FIXTURE_SUB_ID, sandboxId: FIXTURE_SANDBOX_ID, pid: other.pid });
    const states = JSON.parse(list(root, "--format", "json")) as { id: string; status: string; pid: number }[];
    expect(states.map((c) => [c.id, c.status, c.pid])).toEqual([
      [FIXTURE_SUB_ID, "created", other.pid],
      [FIXTURE_ROOT_ID, "stopped", -1],
    ]);
    // The strict check sees that the PID is not this sandbox, in fields of its own.
    const strict = JSON.parse(list(root, "--format", "json", "--strict-liveness")) as Record<string, unknown>[];
    expect(strict.map((c) => [c.status, c.strictStatus, c.liveness])).toEqual([
      ["created", "stopped", "reused"],
      ["stopped", "stopped", "reused"],
    ]);
  });
});

describe("list and state with the sandbox alive", () => {
  /**
   * A fixture root whose sandbox is a live stand-in (test/helpers/stand-in-sandbox.ts)
   * serving runsc's control protocol: the root container's process is alive in it.
   */
  async function liveRoot() {
    const root = makeRoot();
    const startedAfterMs = Date.now();
    const sandbox = await startStandInSandbox(makeTempDir("sock"), FIXTURE_SANDBOX_ID, [FIXTURE_ROOT_ID]);
    const startTime = nanoTime(startedAfterMs - 1000, "772118");
    const createdRoot = nanoTime(startedAfterMs - 900, "862107");
    const createdSub = nanoTime(startedAfterMs - 500, "466553");
    const edit: StateSpec["edit"] = (d) => {
      d.sandbox.controlSocketPath = sandbox.socketPath;
    };
    const common = { pid: sandbox.pid, startTime, edit };
    writeState(root, { containerId: FIXTURE_ROOT_ID, createdAt: createdRoot, ...common });
    writeState(root, { containerId: FIXTURE_SUB_ID, sandboxId: FIXTURE_SANDBOX_ID, createdAt: createdSub, ...common });
    /** runsc's sandbox-alive output with this PID and these times. */
    const expected = (name: string, table = false) => {
      let text = readCliOutput("sandbox-alive", name)
        .replaceAll(FIXTURE_CREATED_ROOT, createdRoot)
        .replaceAll(FIXTURE_CREATED_SUB, createdSub);
      // In the table the PID cell is padded to the column's 12 characters.
      text = table
        ? text.replaceAll(FIXTURE_PID.padEnd(12), String(sandbox.pid).padEnd(12))
        : text.replaceAll(FIXTURE_PID, String(sandbox.pid));
      return text;
    };
    return { root, expected };
  }

  it("list: the table is byte-identical to runsc list", async () => {
    const { root, expected } = await liveRoot();
    expect(list(root)).toBe(expected("runsc-list.txt", true));
  });

  it("list --format json: byte-identical to runsc list --format=json", async () => {
    const { root, expected } = await liveRoot();
    expect(list(root, "--format", "json")).toBe(expected("runsc-list-format-json.json"));
  });

  it("state: byte-identical to runsc state for both containers", async () => {
    const { root, expected } = await liveRoot();
    expect(state(root, FIXTURE_ROOT_ID)).toBe(expected(STATE_ROOT));
    expect(state(root, FIXTURE_SUB_ID)).toBe(expected(STATE_SUB));
  });

  it("--strict-liveness adds the strict answer after runsc's fields and columns, which stay as runsc prints them", async () => {
    const { root, expected } = await liveRoot();
    const table = list(root, "--strict-liveness").split("\n");
    const plain = expected("runsc-list.txt", true).split("\n");
    expect(table[0]).toMatch(/^ID .* OWNER +STRICT STATUS +LIVENESS$/);
    expect(table[1]!.startsWith(plain[1]!.trimEnd())).toBe(true);
    expect(table[1]).toMatch(/ created +alive$/);
    expect(table[2]).toMatch(/ running +alive$/);
    const text = runCli(["--root", root, "state", FIXTURE_ROOT_ID, "--strict-liveness"]).stdout;
    expect(text.startsWith(expected(STATE_ROOT).replace(/\n?}\n?$/, ","))).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ status: "running", strictStatus: "running", liveness: "alive" });
  });

  it("list --status filters on the status as printed (after the liveness check)", async () => {
    const { root } = await liveRoot();
    expect(list(root, "--status", "running", "--format", "ids")).toBe(`${FIXTURE_ROOT_ID}\n`);
    expect(list(root, "--status", "created", "--format", "ids")).toBe(`${FIXTURE_SUB_ID}\n`);
    expect(list(root, "--status", "stopped", "--format", "json")).toBe("null\n");
  });
});

describe("list and state formatting details", async () => {
  it("list: CREATED is Go's RFC3339Nano: fraction zeros dropped, a zero offset printed as Z", () => {
    const root = makeRoot();
    const cases: [string, string, string][] = [
      ["t1", "2026-08-12T16:03:31.209400000+02:00", "2026-08-12T16:03:31.2094+02:00"],
      ["t2", "2026-08-12T14:03:31.000000000+00:00", "2026-08-12T14:03:31Z"],
      ["t3", "2026-08-12T14:03:31.5-07:30", "2026-08-12T14:03:31.5-07:30"],
      ["t4", "2026-08-12T14:03:31Z", "2026-08-12T14:03:31Z"],
    ];
    for (const [id, createdAt] of cases) writeState(root, { containerId: id, createdAt });
    const rows = list(root).split("\n").slice(1, -1);
    expect(rows).toHaveLength(cases.length);
    for (const [i, [id, , printed]] of cases.entries()) {
      const cells = rows[i]!.trimEnd().split(/ {3,}/);
      expect(cells[0]).toBe(id);
      expect(cells[4]).toBe(printed);
    }
  });

  it("list: columns are aligned by runes, and the last cell (OWNER) is not padded", () => {
    const root = makeRoot();
    const wide = "/run/äääääääääääääää";
    writeState(root, { containerId: "u1", edit: (d) => Object.assign(d, { bundleDir: wide, owner: "alice" }) });
    writeState(root, { containerId: "u2", edit: (d) => Object.assign(d, { bundleDir: "/run/x", owner: "bob" }) });
    const lines = list(root).split("\n");
    // Runes before the text: "ä" is one rune, two bytes in UTF-8 (Go counts runes).
    const runeColumn = (line: string, text: string) => [...line.slice(0, line.indexOf(text))].length;
    const createdCol = runeColumn(lines[0]!, "CREATED");
    expect(runeColumn(lines[1]!, "2026-")).toBe(createdCol);
    expect(runeColumn(lines[2]!, "2026-")).toBe(createdCol);
    // BUNDLE is as wide as its widest cell (20 runes) plus 3 spaces of padding.
    expect(lines[1]).toContain(`${wide}   2026-`);
    expect(lines[2]).toContain(`/run/x${" ".repeat(20 - 6 + 3)}2026-`);
    expect(lines[1]!.endsWith("Z   alice")).toBe(true);
    expect(lines[2]!.endsWith("Z   bob")).toBe(true);
  });

  it("list --format json and state: Go escaping of <, > and &; annotations omitted when empty", () => {
    const root = makeRoot();
    writeState(root, {
      containerId: "esc",
      edit: (d) => {
        d.bundleDir = "/run/<a&b>";
        d.spec.annotations = {};
      },
    });
    const json = list(root, "--format", "json");
    expect(json).toBe(
      '[{"ociVersion":"1.2.1","id":"esc","status":"stopped","pid":-1,"bundle":"/run/\\u003ca\\u0026b\\u003e"}]\n',
    );
    expect(state(root, "esc")).toBe(
      '{\n  "ociVersion": "1.2.1",\n  "id": "esc",\n  "status": "stopped",\n  "pid": -1,\n  "bundle": "/run/\\u003ca\\u0026b\\u003e"\n}\n',
    );
  });

  it('list --format json and state: annotation keys sorted as Go sorts strings ("10" before "9")', () => {
    const root = makeRoot();
    writeState(root, {
      containerId: "keys",
      edit: (d) => Object.assign(d.spec, { annotations: { "9": "nine", "10": "ten" } }),
    });
    expect(list(root, "--format", "json")).toContain('"annotations":{"10":"ten","9":"nine"}}]');
    expect(state(root, "keys")).toContain('"annotations": {\n    "10": "ten",\n    "9": "nine"\n  }\n}\n');
  });

  it("list --format json and state: an annotation named __proto__ is printed like any other", () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "proto" });
    // JSON.parse would not keep a "__proto__" key either: write it into the text.
    const text = fs.readFileSync(file, "utf8").replace(/"annotations":\{[^}]*\}/, '"annotations":{"__proto__":"x"}');
    fs.writeFileSync(file, text);
    expect(list(root, "--format", "json")).toContain('"annotations":{"__proto__":"x"}}]');
    expect(state(root, "proto")).toContain('"annotations": {\n    "__proto__": "x"\n  }');
  });

  it("list: containers come in runsc's order, by file name, not by container ID", () => {
    const root = makeRoot();
    writeState(root, { containerId: "a" });
    writeState(root, { containerId: "a.b" });
    // "a.b_sandbox:..." sorts before "a_sandbox:..." because "." < "_".
    expect(list(root, "--format", "ids")).toBe("a.b\na\n");
  });

  it("list: runs of IDs that extend another are each put in file-name order, streamed or not", () => {
    const root = makeRoot();
    for (const containerId of ["b", "a0", "b.c", "a", "a.b", "c"]) writeState(root, { containerId });
    // By ID: a, a.b, a0, b, b.c, c; by file name "." < "0" < "_".
    expect(list(root, "--format", "ids")).toBe("a.b\na0\na\nb.c\nb\nc\n");
    const json = JSON.parse(list(root, "--format", "json")) as { id: string }[];
    expect(json.map((s) => s.id)).toEqual(["a.b", "a0", "a", "b.c", "b", "c"]);
  });

  it("list: an empty or missing root prints the header only, or null as JSON", () => {
    const missing = path.join(makeTempDir("cli"), "no-such-root");
    // Issue 12: a missing root also gets one stderr line saying so (runsc says nothing).
    const onMissing = (...args: string[]) => {
      const r = runCli(["--root", missing, "list", ...args]);
      expect([r.status, r.stderr]).toEqual([0, `runsc-index: root "${missing}" does not exist\n`]);
      return r.stdout;
    };
    expect(onMissing()).toBe("ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
    expect(onMissing("--format", "json")).toBe("null\n");
    expect(onMissing("--format", "ids")).toBe("");
    const empty = makeRoot();
    expect(list(empty)).toBe("ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
  });

  it("list: on a missing root it does not create the root with a mode runsc would not give it (0711)", () => {
    const parent = makeTempDir("cli");
    fs.chmodSync(parent, 0o755);
    const missing = path.join(parent, "no-such-root");
    expect(runCli(["--root", missing, "list"]).status).toBe(0);
    const mode = fs.statSync(missing, { throwIfNoEntry: false })?.mode;
    expect(mode === undefined || (mode & 0o777) === 0o711).toBe(true);
  });

  it("list --sandbox: only that sandbox's containers; an invalid sandbox ID is a usage error", () => {
    const root = makeRoot({ fixtures: true });
    writeState(root, { containerId: "other" });
    expect(list(root, "--sandbox", FIXTURE_SANDBOX_ID, "--format", "ids")).toBe(
      `${FIXTURE_SUB_ID}\n${FIXTURE_ROOT_ID}\n`,
    );
    expect(list(root, "--sandbox", "other", "--format", "ids")).toBe("other\n");
    const bad = runCli(["--root", root, "list", "--sandbox", "no/slash"]);
    expect(bad.status).toBe(2);
    expect(errorLine(bad.stderr)).toContain("invalid sandbox ID");
  });

  it("list: a file that cannot be read is skipped, as runsc list skips it", () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(path.join(root, "broken_sandbox:broken.state"), '{"id":');
    expect(list(root)).toBe(readCliOutput("sandbox-dead", "runsc-list.txt"));
  });
});
