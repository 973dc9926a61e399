/** What the store does to files runsc may be using: lock files, names it lists without reading. */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { flavorOfVersion, runscFlavor } from "../../src/cli/runsc-flavor.js";
import { openStore, RunscIndexError, type Store } from "../../src/index.js";
import { lockPath, makeRoot, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

const stores: Store[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

function open(root: string): Store {
  const s = openStore({ root });
  stores.push(s);
  return s;
}

describe("lock files beside runsc", () => {
  it("load of a missing container never unlinks its lock file (a runsc create may be about to lock it)", async () => {
    const root = makeRoot();
    const lock = lockPath(root, "c1", "c1");
    fs.writeFileSync(lock, "", { mode: 0o600 });
    const ino = fs.statSync(lock).ino;
    const store = open(root);
    writeState(root, { containerId: "c1" });
    await store.load("c1"); // indexed
    fs.rmSync(statePath(root, "c1", "c1"));
    const e = await store.load("c1", { exact: true }).catch((x) => x);
    expect(e).toBeInstanceOf(RunscIndexError);
    expect((e as RunscIndexError).code).toBe("ERR_NOT_FOUND");
    expect(fs.statSync(lock).ino).toBe(ino);
    // The index row went with the file.
    expect(await store.list()).toEqual([]);
  });
});

describe("listIdsFromNames (list -q)", () => {
  it("lists the IDs of state file names in runsc's order, a torn file's too, reading no file", () => {
    const root = makeRoot();
    writeState(root, { containerId: "a" });
    writeState(root, { containerId: "a.b" });
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":');
    fs.writeFileSync(path.join(root, "not-a-state-file.state"), "{}");
    fs.writeFileSync(lockPath(root, "onlylock", "onlylock"), "");
    const store = open(root);
    expect(store.listIdsFromNames()).toEqual(["a.b", "a", "torn"]);
    expect(store.listIdsFromNames("torn")).toEqual(["torn"]);
    expect(() => store.listIdsFromNames("no/slash")).toThrow(/invalid sandbox ID/);
  });
});

describe("runsc's version-dependent bytes", () => {
  it("flavorOfVersion reads the spec line of `runsc --version`", () => {
    expect(flavorOfVersion("runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n")).toEqual({
      ociVersion: "1.0.2-dev",
      stateNewline: false,
    });
    expect(flavorOfVersion("runsc version release-20260810.0\nspec: 1.2.1\n")).toEqual({
      ociVersion: "1.2.1",
      stateNewline: true,
    });
    expect(flavorOfVersion("")).toEqual({ ociVersion: "1.2.1", stateNewline: true });
  });

  it("the flag wins over the environment; an unknown format is ERR_INVALID_ARGUMENT naming where it came from", () => {
    const before = process.env.RUNSC_INDEX_RUNSC_FORMAT;
    try {
      process.env.RUNSC_INDEX_RUNSC_FORMAT = "current";
      expect(runscFlavor("20221219", "/nonexistent-root").ociVersion).toBe("1.0.2-dev");
      expect(runscFlavor(undefined, "/nonexistent-root").ociVersion).toBe("1.2.1");
      process.env.RUNSC_INDEX_RUNSC_FORMAT = "2019";
      expect(() => runscFlavor(undefined, "/nonexistent-root")).toThrow(/RUNSC_INDEX_RUNSC_FORMAT.*"2019"/);
      expect(() => runscFlavor("next", "/nonexistent-root")).toThrow(/--runsc-format.*"next"/);
    } finally {
      if (before === undefined) delete process.env.RUNSC_INDEX_RUNSC_FORMAT;
      else process.env.RUNSC_INDEX_RUNSC_FORMAT = before;
    }
  });
});
