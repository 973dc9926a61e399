/**
 * Bad IDs and prefixes through every entry point: path pieces, glob and LIKE
 * characters, control characters, separators, non-ASCII, empty and overlong
 * strings. Each must give ERR_INVALID_ID, or, for strings made only of ID
 * characters, a correct ERR_NOT_FOUND ("_" and "a_" are literal, never
 * wildcards), and no file may change inside or outside the root.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, RunscIndexError, type Store } from "../../src/index.js";
import { ensureBuilt, runCliAsync } from "../cli/cli.js";
import { makeTempDir, removeTempDirs, stateObject, writeState } from "../helpers/roots.js";
import { snapshotDir } from "./support.js";

const BAD = [
  "../x",
  "../root/abc",
  "/etc/passwd",
  "a/b",
  ".",
  "..",
  "*",
  "a*",
  "?",
  "[a]",
  "%",
  "a%",
  "a\0b",
  "\0",
  "a\nb",
  "abc\n",
  " ",
  "abc ",
  ":",
  "abc:x",
  ",",
  "a,b",
  "\\",
  "$(id)",
  "'",
  "x".repeat(300),
  "é",
  "😀",
  "ａbc",
  "",
  // Only ID characters: legal prefixes that name nothing here.
  "_",
  "a_",
  "a.",
  "-",
  "+",
  "abcd",
];
/** Containers in the root: "a_" and "_" would match abc and abd if "_" were a LIKE wildcard. */
const PRESENT = ["abc", "abd", "xyz"];

const ID_CHARS = /^[A-Za-z0-9_+.-]+$/;
/** expectedCode is what a prefix lookup must answer: only strings of ID characters can be looked up at all. */
const expectedCode = (id: string) =>
  ID_CHARS.test(id) && id !== "." && id !== ".." && id.length < 240 ? "ERR_NOT_FOUND" : "ERR_INVALID_ID";

let parent: string;
let root: string;
let store: Store;
let before: Record<string, string>;
const INDEX = ".runsc-index";

beforeAll(() => {
  parent = makeTempDir("parent");
  root = path.join(parent, "root");
  fs.mkdirSync(root, { mode: 0o711 });
  for (const id of PRESENT) {
    writeState(root, { containerId: id });
    fs.writeFileSync(path.join(root, `${id}_sandbox:${id}.lock`), "", { mode: 0o600 });
  }
  // Decoys outside the root that a path-joining bug could reach.
  writeState(parent, { containerId: "x" });
  fs.mkdirSync(path.join(parent, "a"));
  fs.writeFileSync(path.join(parent, "a", "b"), "decoy");
  store = openStore({ root });
  before = snapshotDir(parent, [`root/${INDEX}`]);
});

afterAll(() => {
  store?.close();
  removeTempDirs();
});

/** outcome runs one call and describes how it ended: a code, or what it returned. */
async function outcome(fn: () => unknown): Promise<string> {
  try {
    const v = await fn();
    return `returned ${JSON.stringify(v)?.slice(0, 80)}`;
  } catch (e) {
    if (e instanceof RunscIndexError) return e.code;
    return `threw ${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}

describe("bad IDs: library entry points", () => {
  it("the list has over 20 kinds of bad input", () => {
    expect(BAD.filter((id) => expectedCode(id) === "ERR_INVALID_ID").length).toBeGreaterThan(20);
  });

  it.each(BAD.map((id) => [JSON.stringify(id), id]))(
    "%s: every lookup gives ERR_INVALID_ID or ERR_NOT_FOUND",
    async (_, id) => {
      const want = expectedCode(id);
      const results = {
        resolve: await outcome(() => store.resolve(id)),
        load: await outcome(() => store.load(id)),
        update: await outcome(() => store.update(id, (d) => d.set(["touched"], true))),
        destroy: await outcome(() => store.destroy(id)),
        resolveInSandbox: await outcome(() => store.resolve("abc", { sandbox: id })),
        loadInSandbox: await outcome(() => store.load("abc", { sandbox: id })),
      };
      expect(results).toEqual({
        resolve: want,
        load: want,
        update: want,
        destroy: want,
        // A sandbox ID is whole, never a prefix: a legal one that names nothing finds nothing.
        resolveInSandbox: expectedSandboxCode(id, "ERR_NOT_FOUND"),
        loadInSandbox: expectedSandboxCode(id, "ERR_NOT_FOUND"),
      });
    },
  );

  it.each(BAD.map((id) => [JSON.stringify(id), id]))(
    "%s: exact lookups give ERR_INVALID_ID or ERR_NOT_FOUND",
    async (_, id) => {
      const want = expectedSandboxCode(id, "ERR_NOT_FOUND");
      expect({
        load: await outcome(() => store.load(id, { exact: true })),
        update: await outcome(() => store.update(id, (d) => d.set(["touched"], true), { exact: true })),
        destroy: await outcome(() => store.destroy(id, { exact: true })),
      }).toEqual({ load: want, update: want, destroy: want });
    },
  );

  it.each(BAD.map((id) => [JSON.stringify(id), id]))(
    "%s: sandbox filters give ERR_INVALID_ID or nothing",
    async (_, id) => {
      const valid = expectedSandboxCode(id, "valid") === "valid";
      expect({
        loadSandbox: await outcome(() => store.loadSandbox(id)),
        list: await outcome(() => store.list({ sandbox: id })),
      }).toEqual({
        loadSandbox: valid ? "returned []" : "ERR_INVALID_ID",
        list: valid ? "returned []" : "ERR_INVALID_ID",
      });
    },
  );

  // Every bad string, and the 300-character one too: its state file name would pass 255 bytes.
  const uncreatable = BAD.filter((id) => expectedSandboxCode(id, "valid") !== "valid" || id.length > 200);
  it.each(uncreatable.map((id) => [JSON.stringify(id), id]))(
    "%s: create with it as container or sandbox ID gives ERR_INVALID_ID",
    async (_, id) => {
      expect({
        container: await outcome(() => store.create(stateObject({ containerId: id, sandboxId: "sb" }))),
        sandbox: await outcome(() => store.create(stateObject({ containerId: "newc", sandboxId: id }))),
        rootContainer: await outcome(() => store.create(stateObject({ containerId: id }))),
      }).toEqual({ container: "ERR_INVALID_ID", sandbox: "ERR_INVALID_ID", rootContainer: "ERR_INVALID_ID" });
    },
  );

  it("no file inside or outside the root changed, and none was added", () => {
    expect(snapshotDir(parent, [`root/${INDEX}`])).toEqual(before);
  });
});

/** expectedSandboxCode: ERR_INVALID_ID for a string that cannot be a whole ID, else `otherwise`. */
/** A whole ID (sandbox, or container with exact) is invalid past 239 characters: no state file name could hold it. */
function expectedSandboxCode(id: string, otherwise: string): string {
  return ID_CHARS.test(id) && id !== "." && id !== ".." && id.length < 240 ? otherwise : "ERR_INVALID_ID";
}

describe("bad IDs: the command line", () => {
  beforeAll(() => ensureBuilt(), 120_000);

  /** One of each kind (argv cannot carry NUL at all): each run is a whole node process. */
  const CLI_BAD = [
    "../x",
    "/etc/passwd",
    "*",
    "[a]",
    "a%",
    "a\nb",
    " ",
    "abc:x",
    "x".repeat(300),
    "😀",
    "",
    "_",
    "a_",
    "-",
  ];
  const exitFor = (id: string) => (expectedCode(id) === "ERR_INVALID_ID" ? 2 : 3);

  it("find, state and show exit 2 for an invalid ID and 3 for a legal one that names nothing", async () => {
    const runs = CLI_BAD.flatMap((id) => ["find", "state", "show"].map((cmd) => ({ id, cmd })));
    const results: unknown[] = [];
    // A few at a time: each is a whole node process.
    for (let i = 0; i < runs.length; i += 4) {
      const batch = runs.slice(i, i + 4);
      const done = await Promise.all(batch.map(({ id, cmd }) => runCliAsync(["--root", root, cmd, "--", id])));
      for (const [j, r] of done.entries()) {
        const { id, cmd } = batch[j]!;
        results.push({
          cmd,
          id,
          status: r.status,
          stdout: r.stdout,
          stderrStart: r.stderr.startsWith("runsc-index: "),
          oneLine: r.stderr.trimEnd().split("\n").length === 1,
        });
      }
    }
    expect(results).toEqual(
      runs.map(({ id, cmd }) => ({ cmd, id, status: exitFor(id), stdout: "", stderrStart: true, oneLine: true })),
    );
    expect(snapshotDir(parent, [`root/${INDEX}`])).toEqual(before);
  });

  it("find --sandbox with an invalid sandbox ID exits 2", async () => {
    for (const sid of ["../x", "a/b", "*", ""]) {
      const r = await runCliAsync(["--root", root, "find", "abc", "--sandbox", sid]);
      expect({ sid, status: r.status }).toEqual({ sid, status: 2 });
    }
  });
});

// These change the root, so they run after every snapshot comparison above.
describe("legal IDs made of unusual characters", () => {
  it('"_" is literal: "a_" finds only a container whose ID starts with "a_", "_" finds nothing', () => {
    const file = writeState(root, { containerId: "a_z" });
    try {
      expect(store.resolve("a_")).toEqual({ containerId: "a_z", sandboxId: "a_z" });
      expect(() => store.resolve("_")).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
      expect(() => store.resolve("a")).toThrow(expect.objectContaining({ code: "ERR_AMBIGUOUS_ID" }));
    } finally {
      fs.rmSync(file);
    }
  });

  it('create accepts the legal IDs "_", "-", "+" and "a.", and each round-trips', async () => {
    for (const id of ["_", "-", "+", "a."]) {
      await store.create(stateObject({ containerId: id, rootDir: root }));
      expect(fs.existsSync(path.join(root, `${id}_sandbox:${id}.state`))).toBe(true);
      expect(store.resolve(id)).toEqual({ containerId: id, sandboxId: id });
      expect((await store.load(id, { exact: true, skipCheck: true })).fields.containerId).toBe(id);
      await store.destroy(id, { exact: true });
      expect(fs.existsSync(path.join(root, `${id}_sandbox:${id}.state`))).toBe(false);
    }
  });
});
