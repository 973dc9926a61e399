import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isTempFileName,
  lockFileName,
  looksLikeStateFile,
  parseLockFileName,
  parseStateFileName,
  stateFileName,
  tempFileName,
} from "../../src/ids/file-names.js";
import { parseIdPair } from "../../src/ids/id.js";
import { FIXTURE_SANDBOX_ID, FIXTURE_STATE_NAMES, FIXTURE_SUB_ID } from "../helpers/roots.js";

/** runsc lists state files with filepath.Glob(root + "/*_sandbox:*.state"); Go's `*` also matches a leading dot. */
const RUNSC_GLOB = /^[^/]*_sandbox:[^/]*\.state$/;

const idChar = fc.constantFrom(..."ABCXYZabcxyz0189_+.-");
const validId = fc.string({ unit: idChar, minLength: 1, maxLength: 110 }).filter((s) => s !== "." && s !== "..");

describe("file names: building", () => {
  it("stateFileName and lockFileName are <cid>_sandbox:<sid>.state and .lock", () => {
    const { containerId, sandboxId } = parseIdPair(FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID);
    expect(stateFileName(containerId, sandboxId)).toBe(`${FIXTURE_SUB_ID}_sandbox:${FIXTURE_SANDBOX_ID}.state`);
    expect(lockFileName(containerId, sandboxId)).toBe(`${FIXTURE_SUB_ID}_sandbox:${FIXTURE_SANDBOX_ID}.lock`);
  });

  it("the fixture file names are exactly what stateFileName builds from the IDs they contain", () => {
    for (const name of FIXTURE_STATE_NAMES) {
      const ids = parseStateFileName(name);
      expect(ids).toBeDefined();
      expect(stateFileName(ids!.containerId, ids!.sandboxId)).toBe(name);
    }
  });
});

describe("file names: anchored parsing", () => {
  it("parses both fixture names into their IDs", () => {
    expect(parseStateFileName(FIXTURE_STATE_NAMES[1]!)).toEqual({
      containerId: FIXTURE_SUB_ID,
      sandboxId: FIXTURE_SANDBOX_ID,
    });
    expect(parseStateFileName(FIXTURE_STATE_NAMES[0]!)).toEqual({
      containerId: FIXTURE_SANDBOX_ID,
      sandboxId: FIXTURE_SANDBOX_ID,
    });
  });

  it("a container ID containing underscores (and even '_sandbox') splits at the one ':'", () => {
    expect(parseStateFileName("my_app_1_sandbox:pod_9.state")).toEqual({ containerId: "my_app_1", sandboxId: "pod_9" });
    expect(parseStateFileName("a_sandbox_sandbox:b.state")).toEqual({ containerId: "a_sandbox", sandboxId: "b" });
  });

  it("parseLockFileName parses lock names and rejects state names, and the other way round", () => {
    expect(parseLockFileName("c1_sandbox:s1.lock")).toEqual({ containerId: "c1", sandboxId: "s1" });
    expect(parseLockFileName("c1_sandbox:s1.state")).toBeUndefined();
    expect(parseStateFileName("c1_sandbox:s1.lock")).toBeUndefined();
  });

  it.each([
    ["junk before (runsc's unanchored regex would match)", "x/c1_sandbox:s1.state"],
    ["junk after", "c1_sandbox:s1.state.bak"],
    ["a longer suffix", "c1_sandbox:s1.statex"],
    ["a path prefix", "/run/runsc/c1_sandbox:s1.state"],
    ["no container ID", "_sandbox:s1.state"],
    ["no sandbox ID", "c1_sandbox:.state"],
    ["two separators", "a_sandbox:b_sandbox:c.state"],
    ["the doc comment's wrong separator", "c1_sand:s1.state"],
    ["comma in an ID", "a,b_sandbox:s1.state"],
    ["a space in an ID", "a b_sandbox:s1.state"],
    ["'..' as container ID", ".._sandbox:s1.state"],
    ["'.' as sandbox ID", "c1_sandbox:..state"],
    ["'..' as sandbox ID", "c1_sandbox:...state"],
    ["non-ASCII", "caf\u00e9_sandbox:s1.state"],
    ["old format (no sandbox)", "c1.state"],
    ["the sandbox socket", "runsc-s1.sock"],
    ["a name over 255 bytes", `${"c".repeat(200)}_sandbox:${"s".repeat(60)}.state`],
  ])("rejects %s: %j", (_what, name) => {
    expect(parseStateFileName(name)).toBeUndefined();
  });

  it("a name of exactly 255 bytes parses", () => {
    const name = `${"c".repeat(170)}_sandbox:${"s".repeat(70)}.state`;
    expect(Buffer.byteLength(name)).toBe(255);
    expect(parseStateFileName(name)).toEqual({ containerId: "c".repeat(170), sandboxId: "s".repeat(70) });
  });

  it("property: build then parse gives back both IDs", () => {
    fc.assert(
      fc.property(validId, validId, (cid, sid) => {
        const ids = parseIdPair(cid, sid);
        expect(parseStateFileName(stateFileName(ids.containerId, ids.sandboxId))).toEqual({
          containerId: cid,
          sandboxId: sid,
        });
        expect(parseLockFileName(lockFileName(ids.containerId, ids.sandboxId))).toEqual({
          containerId: cid,
          sandboxId: sid,
        });
      }),
    );
  });

  it("property: whatever parses is rebuilt into exactly the same name", () => {
    const nameChar = fc.constantFrom(..."ab_:.s+-/ ,\u00e9", ..."_sandbox:", ".state");
    fc.assert(
      fc.property(fc.array(nameChar, { maxLength: 30 }), (parts) => {
        const name = parts.join("");
        const ids = parseStateFileName(name);
        if (ids !== undefined) expect(stateFileName(ids.containerId, ids.sandboxId)).toBe(name);
      }),
    );
  });
});

describe("file names: temporary files", () => {
  it("a temp name never matches runsc's glob, never parses, and is recognised as ours", () => {
    const containerIds = [
      "c1",
      FIXTURE_SUB_ID,
      "x_sandbox",
      "a.state",
      "a_sandbox.state",
      "z".repeat(200),
      "a".repeat(63) + "_sandbox",
    ];
    for (const id of containerIds) {
      const pair = parseIdPair(id, FIXTURE_SANDBOX_ID.slice(0, 20));
      const name = tempFileName(pair.containerId, pair.sandboxId);
      expect(name).not.toMatch(RUNSC_GLOB);
      expect(parseStateFileName(name)).toBeUndefined();
      expect(parseLockFileName(name)).toBeUndefined();
      expect(looksLikeStateFile(name)).toBe(false);
      expect(isTempFileName(name)).toBe(true);
      expect(name).not.toContain("/");
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    }
  });

  it("property: no temp name for any valid ID matches runsc's glob", () => {
    fc.assert(
      fc.property(validId, validId, (cid, sid) => {
        const ids = parseIdPair(cid, sid);
        const name = tempFileName(ids.containerId, ids.sandboxId);
        expect(name).not.toMatch(RUNSC_GLOB);
        expect(isTempFileName(name)).toBe(true);
      }),
    );
  });

  it("two temp names for the same container differ", () => {
    const { containerId, sandboxId } = parseIdPair("c1", "s1");
    expect(tempFileName(containerId, sandboxId)).not.toBe(tempFileName(containerId, sandboxId));
  });

  it("state and lock names are not temp names", () => {
    for (const name of FIXTURE_STATE_NAMES) {
      expect(isTempFileName(name)).toBe(false);
      expect(looksLikeStateFile(name)).toBe(true);
      expect(name).toMatch(RUNSC_GLOB);
    }
  });
});
