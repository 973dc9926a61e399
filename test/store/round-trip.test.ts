import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptStateError, openStore, RunscIndexError, type Store } from "../../src/index.js";
import { MAX_STATE_BYTES } from "../../src/state/document.js";
import { killSpawned, withTimeout } from "../helpers/foreign.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_STATE_NAMES,
  FIXTURE_SUB_ID,
  type JsonDoc,
  makeRoot,
  readFixture,
  removeTempDirs,
  statePath,
  stateText,
  writeState,
} from "../helpers/roots.js";

const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await killSpawned();
  removeTempDirs();
});

function open(root: string): Store {
  const store = openStore({ root });
  stores.push(store);
  return store;
}

const INT64_MAX = "9223372036854775807";

describe("store round trip: the fixtures", () => {
  it.each([
    [FIXTURE_ROOT_ID, FIXTURE_STATE_NAMES[0]!],
    [FIXTURE_SUB_ID, FIXTURE_STATE_NAMES[1]!],
  ])("load then save with no change leaves %s byte-identical", async (id, name) => {
    const root = makeRoot({ fixtures: true });
    const store = open(root);
    const c = await store.load(id, { exact: true, skipCheck: true });
    await store.save(c.document);
    expect(fs.readFileSync(statePath(root, id, FIXTURE_SANDBOX_ID))).toEqual(readFixture(name));
  });

  it("update with a no-op callback leaves both fixtures byte-identical", async () => {
    const root = makeRoot({ fixtures: true });
    const store = open(root);
    for (const id of [FIXTURE_ROOT_ID, FIXTURE_SUB_ID]) await store.update(id, () => {});
    for (const name of FIXTURE_STATE_NAMES) {
      expect(fs.readFileSync(`${root}/${name}`)).toEqual(readFixture(name));
    }
  });

  it("int64 max in spec.linux.resources.memory.limit keeps every digit through load, update of another field, save", async () => {
    const root = makeRoot();
    const text = readFixture(FIXTURE_STATE_NAMES[0]!)
      .toString("utf8")
      .replace('"resources":{', `"resources":{"memory":{"limit":${INT64_MAX},"reservation":-1},`);
    const file = statePath(root, FIXTURE_ROOT_ID, FIXTURE_SANDBOX_ID);
    fs.writeFileSync(file, text);
    const store = open(root);
    const loaded = await store.load(FIXTURE_ROOT_ID, { skipCheck: true });
    expect(loaded.document.getPlain(["spec", "linux", "resources", "memory", "limit"])).toBe(BigInt(INT64_MAX));
    await store.update(FIXTURE_ROOT_ID, (doc) => {
      doc.status = "paused";
    });
    const afterUpdate = fs.readFileSync(file, "utf8");
    expect(afterUpdate).toBe(text.replace('"status":"running"', '"status":"paused"'));
    const again = await store.load(FIXTURE_ROOT_ID, { skipCheck: true });
    again.document.set(["owner"], "someone");
    await store.save(again.document);
    const afterSave = fs.readFileSync(file, "utf8");
    expect(afterSave).toContain(`"memory":{"limit":${INT64_MAX},"reservation":-1}`);
    expect(afterSave).toBe(afterUpdate.replace('"owner":""', '"owner":"someone"'));
  });

  it("unknown fields and struct key order survive an update; Go maps are written in Go's order", async () => {
    const root = makeRoot();
    const file = writeState(root, {
      containerId: "c1",
      edit: (d: JsonDoc) => {
        d.zFuture = { b: [1, 2], a: null };
        d.sandbox.newThing = "x";
        d.spec.annotations = { z: "1", "10": "2" };
      },
    });
    // JSON.stringify moved "10" first; put the keys back in file order z, 10.
    const text = fs.readFileSync(file, "utf8").replace('{"10":"2","z":"1"}', '{"z":"1","10":"2"}');
    fs.writeFileSync(file, text);
    await open(root).update("c1", (doc) => {
      doc.set(["goferPid"], 7);
    });
    const out = fs.readFileSync(file, "utf8");
    // Changed on purpose (issue 9): annotations are a Go map, which json.Marshal writes sorted.
    const goSorted = text.replace('{"z":"1","10":"2"}', '{"10":"2","z":"1"}');
    expect(out).toBe(goSorted.replace(/"goferPid":\d+/, '"goferPid":7'));
    expect(out).toContain('"annotations":{"10":"2","z":"1"}');
    expect(out.endsWith(',"zFuture":{"b":[1,2],"a":null}}')).toBe(true);
  });

  it("strings are written with Go's escaping (<, >, &, U+2028, U+2029)", async () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "c1" });
    await open(root).update("c1", (doc) => {
      doc.set(["owner"], "<b>&\u2028\u2029é");
    });
    const out = fs.readFileSync(file, "utf8");
    expect(out).toContain('"owner":"\\u003cb\\u003e\\u0026\\u2028\\u2029é"');
    expect(out.endsWith("}")).toBe(true);
  });

  it("a document written by another JSON encoder (jq: trailing newline, raw '<') is read; a save writes Go's form", async () => {
    const root = makeRoot();
    const file = statePath(root, "c1", "c1");
    const plain = `${stateText({ containerId: "c1", edit: (d) => (d.owner = "<x>") })}\n`;
    fs.writeFileSync(file, plain);
    const store = open(root);
    const c = await store.load("c1", { skipCheck: true });
    expect(c.fields.owner).toBe("<x>");
    await store.save(c.document);
    expect(fs.readFileSync(file, "utf8")).toBe(plain.trimEnd().replace('"owner":"<x>"', '"owner":"\\u003cx\\u003e"'));
  });
});

describe("store: corrupt state files", () => {
  async function loadCorrupt(root: string, id: string, name: string): Promise<CorruptStateError> {
    const file = `${root}/${name}`;
    // Only a regular file is read here: reading a FIFO would block the test itself.
    const before = fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() ? fs.readFileSync(file) : undefined;
    const store = open(root);
    const e = await withTimeout(
      store.load(id, { skipCheck: true }).then(
        () => new Error("load accepted a corrupt file"),
        (err: unknown) => err,
      ),
      20_000,
      "load",
    );
    expect(e).toBeInstanceOf(CorruptStateError);
    expect(e).toBeInstanceOf(RunscIndexError);
    const err = e as CorruptStateError;
    expect(err.code).toBe("ERR_CORRUPT_STATE");
    expect(err.file).toBe(name);
    expect(err.message).toContain(name);
    expect(err.message).toContain(err.reason);
    // Never changed, and update does not write over it either.
    await expect(store.update(id, () => {})).rejects.toBeInstanceOf(CorruptStateError);
    // Buffer.equals: toEqual walks a Buffer key by key, far too slow for 16 MiB.
    if (before !== undefined) expect(fs.readFileSync(file).equals(before)).toBe(true);
    return err;
  }

  const good = stateText({ containerId: "c1" });
  const NAME = "c1_sandbox:c1.state";

  it.each([
    ["empty", "", /empty file/],
    ["truncated (a crash during runsc's in-place write)", good.slice(0, 3000), /invalid JSON/],
    ["truncated by one byte", good.slice(0, -1), /invalid JSON/],
    ["not JSON", "this is not json", /invalid JSON/],
    ["zero bytes from a torn write", "\0".repeat(4096), /invalid JSON/],
    ["a JSON array, not an object", "[1,2,3]", /not a JSON object|is not an object/],
    ["a JSON string, not an object", '"c1"', /not a JSON object|is not an object/],
    ["JSON null", "null", /not a JSON object|is not an object/],
    ["sandbox null", stateText({ containerId: "c1", edit: (d) => (d.sandbox = null) }), /sandbox/],
    ["status of the wrong type", stateText({ containerId: "c1", edit: (d) => (d.status = [1]) }), /status/],
    ["pid of the wrong type", stateText({ containerId: "c1", edit: (d) => (d.sandbox.pid = "1") }), /sandbox.pid/],
    ["createdAt of the wrong type", stateText({ containerId: "c1", edit: (d) => (d.createdAt = {}) }), /createdAt/],
    // Invalid UTF-8 inside a string is read as U+FFFD (issue 9, as Go does); outside one it is a syntax error.
    ["invalid UTF-8 outside a string", Buffer.from([0x7b, 0xff, 0x7d]), /invalid JSON: invalid character U\+FFFD/],
  ])("%s: ERR_CORRUPT_STATE with the file name and reason, file unchanged", async (_what, content, reason) => {
    const root = makeRoot();
    fs.writeFileSync(`${root}/${NAME}`, content);
    expect((await loadCorrupt(root, "c1", NAME)).reason).toMatch(reason);
  });

  it("over the size limit: refused without being read, file unchanged", async () => {
    const root = makeRoot();
    const file = `${root}/${NAME}`;
    fs.writeFileSync(file, good);
    fs.truncateSync(file, MAX_STATE_BYTES + 1); // sparse: no 16 MiB written
    const err = await loadCorrupt(root, "c1", NAME);
    expect(err.reason).toMatch(/over the .*limit/);
    expect(fs.statSync(file).size).toBe(MAX_STATE_BYTES + 1);
  });

  it("a directory named like a state file: not a regular file", async () => {
    const root = makeRoot();
    fs.mkdirSync(`${root}/${NAME}`);
    expect((await loadCorrupt(root, "c1", NAME)).reason).toMatch(/not a regular file/);
    expect(fs.statSync(`${root}/${NAME}`).isDirectory()).toBe(true);
  });

  it("a FIFO named like a state file is refused without blocking", async () => {
    const root = makeRoot();
    const { spawnSync } = await import("node:child_process");
    expect(spawnSync("mkfifo", [`${root}/${NAME}`]).status).toBe(0);
    expect((await loadCorrupt(root, "c1", NAME)).reason).toMatch(/not a regular file/);
  });

  it("a symlink named like a state file is not followed", async () => {
    const root = makeRoot();
    const target = `${root}/target.json`;
    fs.writeFileSync(target, good);
    fs.symlinkSync(target, `${root}/${NAME}`);
    expect((await loadCorrupt(root, "c1", NAME)).reason).toMatch(/symbolic link/);
    expect(fs.readFileSync(target, "utf8")).toBe(good);
  });

  it("a corrupt file does not stop the other containers from loading", async () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(`${root}/${NAME}`, "{");
    const store = open(root);
    await expect(store.load("c1")).rejects.toMatchObject({ code: "ERR_CORRUPT_STATE" });
    expect((await store.load(FIXTURE_SUB_ID, { skipCheck: true })).status).toBe("created");
    expect(fs.readFileSync(`${root}/${NAME}`, "utf8")).toBe("{");
  });
});
