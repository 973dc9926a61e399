/** `find` (prefix lookup from the index) and `show` (the stored state file). */
import fs from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_STATE_NAMES,
  FIXTURE_SUB_ID,
  makeRoot,
  readFixture,
  removeTempDirs,
  statePath,
  writeState,
} from "../helpers/roots.js";
import { ensureBuilt, errorLine, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

function ok(args: string[]): string {
  const r = runCli(args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("find", () => {
  it("find: prints the full container ID a unique prefix names", () => {
    const root = makeRoot({ fixtures: true });
    expect(ok(["--root", root, "find", "95"])).toBe(`${FIXTURE_SUB_ID}\n`);
    expect(ok(["--root", root, "find", FIXTURE_ROOT_ID])).toBe(`${FIXTURE_ROOT_ID}\n`);
  });

  it("find --json: prints both IDs", () => {
    const root = makeRoot({ fixtures: true });
    expect(JSON.parse(ok(["--root", root, "find", "9579", "--json"]))).toEqual({
      containerId: FIXTURE_SUB_ID,
      sandboxId: FIXTURE_SANDBOX_ID,
    });
  });

  it("find: an exact ID beats a longer ID with the same prefix", () => {
    const root = makeRoot();
    writeState(root, { containerId: "abc" });
    writeState(root, { containerId: "abcd" });
    expect(ok(["--root", root, "find", "abc"])).toBe("abc\n");
    const r = runCli(["--root", root, "find", "ab"]);
    expect(r.status).toBe(4);
    expect(errorLine(r.stderr)).toContain("abc (sandbox abc), abcd (sandbox abcd)");
  });

  it("find: the same container ID in two sandboxes is ambiguous unless --sandbox is given", () => {
    const root = makeRoot();
    writeState(root, { containerId: "c1", sandboxId: "s1" });
    writeState(root, { containerId: "c1", sandboxId: "s2" });
    expect(runCli(["--root", root, "find", "c1"]).status).toBe(4);
    expect(JSON.parse(ok(["--root", root, "find", "c1", "--sandbox", "s2", "--json"]))).toEqual({
      containerId: "c1",
      sandboxId: "s2",
    });
  });

  it("find: `_` and `.` in a prefix are literal characters", () => {
    const root = makeRoot();
    writeState(root, { containerId: "a_b" });
    writeState(root, { containerId: "axb" });
    writeState(root, { containerId: "a.c" });
    expect(ok(["--root", root, "find", "a_"])).toBe("a_b\n");
    expect(ok(["--root", root, "find", "a."])).toBe("a.c\n");
  });

  it("find: sees a state file created or removed by another process just before it ran", () => {
    const root = makeRoot({ fixtures: true });
    expect(ok(["--root", root, "find", "95"])).toBe(`${FIXTURE_SUB_ID}\n`); // the index now exists
    writeState(root, { containerId: "newcomer" });
    expect(ok(["--root", root, "find", "new"])).toBe("newcomer\n");
    fs.rmSync(statePath(root, FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID));
    const r = runCli(["--root", root, "find", "95"]);
    expect(r.status).toBe(3);
    expect(errorLine(r.stderr)).toBe('runsc-index: container "95" does not exist');
  });
});

describe("show", () => {
  it("show: prints the state file's stored compact JSON plus a newline", () => {
    const root = makeRoot({ fixtures: true });
    expect(ok(["--root", root, "show", FIXTURE_SUB_ID])).toBe(`${readFixture(FIXTURE_STATE_NAMES[1]!)}\n`);
    expect(ok(["--root", root, "show", "9f4"])).toBe(`${readFixture(FIXTURE_STATE_NAMES[0]!)}\n`);
  });

  it("show: the stored status, not the liveness-checked one that state prints", () => {
    const root = makeRoot({ fixtures: true });
    expect(JSON.parse(ok(["--root", root, "show", FIXTURE_ROOT_ID])).status).toBe("running");
    expect(JSON.parse(ok(["--root", root, "state", FIXTURE_ROOT_ID])).status).toBe("stopped");
  });

  it("show --pretty: two-space indentation as Go's json.MarshalIndent", () => {
    const root = makeRoot({ fixtures: true });
    // For the fixtures JSON.stringify produces Go's encoding (FORMAT.md), indented or not.
    const expected = `${JSON.stringify(JSON.parse(readFixture(FIXTURE_STATE_NAMES[1]!).toString()), null, 2)}\n`;
    expect(ok(["--root", root, "show", "9579", "--pretty"])).toBe(expected);
  });

  it("show: unknown fields, key order and integers beyond 2^53 are printed as stored", () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "big" });
    const text = fs
      .readFileSync(file, "utf8")
      .replace('"owner":', '"zExtra":18446744073709551615,"aExtra":[],"owner":');
    fs.writeFileSync(file, text);
    expect(ok(["--root", root, "show", "big"])).toBe(`${text}\n`);
  });

  it("show: a file that is not valid JSON fails with exit 1 naming the file", () => {
    const root = makeRoot();
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":"torn","spec":');
    const r = runCli(["--root", root, "show", "torn"]);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toContain("torn_sandbox:torn.state");
  });
});
