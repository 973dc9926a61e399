/**
 * Issue 9: create, save and update refuse every document runsc could not
 * load, naming the field, before any file is touched.
 */
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, RunscIndexError, StateDocument, type Store } from "../../src/index.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  type JsonDoc,
  makeRoot,
  removeTempDirs,
  stateObject,
  statePath,
  writeState,
} from "../helpers/roots.js";

const stores: Store[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

function open(root: string): Store {
  const store = openStore({ root });
  stores.push(store);
  return store;
}

/** Every name in the root, with each file's bytes (the index directory left out). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(root).sort()) {
    if (name !== ".runsc-index") out[name] = fs.readFileSync(`${root}/${name}`).toString("hex");
  }
  return out;
}

async function refusal(p: Promise<unknown>): Promise<RunscIndexError> {
  const e = await p.then(
    () => new Error("expected ERR_CORRUPT_STATE"),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RunscIndexError);
  expect((e as RunscIndexError).code).toBe("ERR_CORRUPT_STATE");
  return e as RunscIndexError;
}

const DELETE = Symbol("delete");

/** Bad edits (a path and a value, or DELETE), each with the JSON path the error must name. */
const BAD: [string, string | (string | number)[], unknown][] = [
  ["spec", "spec", DELETE],
  ["sandbox.pid", "sandbox.pid", 1.5],
  ["sandbox.pid", "sandbox.pid", "412345"],
  ["goferPid", "goferPid", 2n ** 63n],
  ["spec.process.user.uid", "spec.process.user.uid", -1],
  ["spec.linux.uidMappings[0].size", ["spec", "linux", "uidMappings", 0, "size"], 2 ** 32],
  ["createdAt", "createdAt", "2026-08-12 14:03:27"],
  ["sandbox.startTime", "sandbox.startTime", ""],
  ["spec.annotations.x", "spec.annotations.x", 5],
  ["sandbox.cgroup", "sandbox.cgroup", "v2"],
  ["saver.rootDir", "saver.rootDir", "/run/runsc-elsewhere"],
  ["saver.id.containerId", "saver.id.containerId", "other"],
  ["saver.id.sandboxId", "saver.id.sandboxId", "other"],
];

function edit(doc: StateDocument, at: string | (string | number)[], value: unknown): void {
  if (value === DELETE) doc.delete(at);
  else doc.set(at, value);
}

describe("store: writes runsc could not load are refused, naming the field, with no file touched", () => {
  it.each(BAD)("create: %s", async (field, at, value) => {
    const root = makeRoot();
    const store = open(root);
    const before = snapshot(root);
    const doc = StateDocument.from(stateObject({ containerId: "c1", rootDir: root }));
    edit(doc, at, value);
    const e = await refusal(store.create(doc));
    expect(e.message).toContain(`refusing to write state file "c1_sandbox:c1.state": "${field}"`);
    expect(snapshot(root)).toEqual(before); // no state file, no lock file
  });

  it.each(BAD)("save: %s", async (field, at, value) => {
    const root = makeRoot();
    writeState(root, { containerId: "c1" });
    const store = open(root);
    const loaded = await store.load("c1", { skipCheck: true });
    const before = snapshot(root);
    edit(loaded.document, at, value);
    const e = await refusal(store.save(loaded.document));
    expect(e.message).toContain(`"${field}"`);
    expect(snapshot(root)).toEqual(before);
  });

  it.each(BAD)("update: %s", async (field, at, value) => {
    const root = makeRoot();
    writeState(root, { containerId: "c1" });
    const store = open(root);
    await store.load("c1", { skipCheck: true }); // the lock file exists from here on
    const before = snapshot(root);
    const e = await refusal(store.update("c1", (doc) => edit(doc, at, value)));
    expect(e.message).toContain(`"${field}"`);
    expect(snapshot(root)).toEqual(before);
    expect((await store.list({ skipCheck: true })).map((c) => c.status)).toEqual(["running"]);
  });

  it("a plain object given to create is checked the same way", async () => {
    const root = makeRoot();
    const store = open(root);
    const bad = stateObject({ containerId: "c1", rootDir: root, edit: (d: JsonDoc) => (d.spec.process.user.gid = -5) });
    const e = await refusal(store.create(bad));
    expect(e.message).toContain('"spec.process.user.gid" is not a Go uint32');
    const noSaver = stateObject({ containerId: "c1", edit: (d: JsonDoc) => delete d.saver });
    expect((await refusal(store.create(noSaver))).message).toContain('"saver" must be an object naming the file');
    expect(snapshot(root)).toEqual({});
  });

  it("a set() on a loaded document that breaks a type is refused by save and by update", async () => {
    const root = makeRoot();
    writeState(root, { containerId: "c1" });
    const store = open(root);
    const loaded = await store.load("c1", { skipCheck: true });
    const before = snapshot(root);
    loaded.document.set("sandbox.uid", 2 ** 53 + 2); // a JS number past 2^53 is not an exact integer
    expect((await refusal(store.save(loaded.document))).message).toMatch(/"sandbox.uid" is a JS number past 2\^53/);
    const e = await refusal(store.update("c1", (doc) => doc.set("spec.process.oomScoreAdj", 0.5)));
    expect(e.message).toContain('"spec.process.oomScoreAdj" is not a Go int');
    expect(snapshot(root)).toEqual(before);
  });

  it("a file runsc wrote with another root in its saver can still be saved and updated, saver unchanged", async () => {
    const root = makeRoot({ fixtures: true });
    const store = open(root);
    const c = await store.update(FIXTURE_ROOT_ID, (doc) => {
      doc.status = "paused";
    });
    expect(c.document.getString("saver.rootDir")).toBe("/run/containerd/runsc/k8s.io");
    // Changing the saver is a new claim about the file: it must then name this root.
    const e = await refusal(store.update(FIXTURE_ROOT_ID, (doc) => doc.set("saver.rootDir", "/run/other")));
    expect(e.message).toContain('"saver.rootDir" must be this store\'s root');
    const text = fs.readFileSync(statePath(root, FIXTURE_ROOT_ID, FIXTURE_SANDBOX_ID), "utf8");
    expect(text).toContain('"status":"paused"');
    expect(text).toContain('"rootDir":"/run/containerd/runsc/k8s.io"');
  });

  it("invalid UTF-8 in a value: load reads U+FFFD, an unchanged save keeps the bytes, a change writes Go's form", async () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "c1", edit: (d) => (d.owner = "a?b") });
    const raw = fs.readFileSync(file);
    raw[raw.indexOf("a?b") + 1] = 0xff;
    fs.writeFileSync(file, raw);
    const store = open(root);
    const loaded = await store.load("c1", { skipCheck: true });
    expect(loaded.fields.owner).toBe("a\ufffdb");
    await store.save(loaded.document);
    expect(fs.readFileSync(file)).toEqual(raw);
    await store.update("c1", (doc) => {
      doc.status = "paused";
    });
    const after = fs.readFileSync(file, "utf8");
    expect(after).toContain('"owner":"a\ufffdb"');
    expect(after).toContain('"status":"paused"');
  });
});
