import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { JsonNumber, openStore, STATUSES, StateDocument, type Store } from "../../src/index.js";
import { decodeStatus, encodeStatus, LIVE_STATUSES } from "../../src/state/status.js";
import { makeRoot, removeTempDirs, stateText, writeState } from "../helpers/roots.js";

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

/** runsc's iota before release-20220103.0: Created=0, Creating=1, Paused=2, Running=3, Stopped=4. */
const LEGACY: readonly [number, string][] = [
  [0, "created"],
  [1, "creating"],
  [2, "paused"],
  [3, "running"],
  [4, "stopped"],
];

describe("status: decoding and encoding", () => {
  it("STATUSES are runsc's five statuses", () => {
    expect([...STATUSES].sort()).toEqual(["created", "creating", "paused", "running", "stopped"]);
    expect([...LIVE_STATUSES].sort()).toEqual(["created", "paused", "running"]);
  });

  it.each(STATUSES)("the string %s reads as itself, string-encoded", (s) => {
    expect(decodeStatus(s)).toEqual({ status: s, encoding: "string" });
    expect(encodeStatus(s, "string")).toBe(s);
  });

  it.each(LEGACY)("the legacy integer %i reads as %s and encodes back to the same integer", (n, s) => {
    expect(decodeStatus(new JsonNumber(String(n)))).toEqual({ status: s, encoding: "legacy-int" });
    const encoded = encodeStatus(s as (typeof STATUSES)[number], "legacy-int");
    expect(encoded).toBeInstanceOf(JsonNumber);
    expect((encoded as JsonNumber).raw).toBe(String(n));
  });

  it.each([
    ["5", new JsonNumber("5")],
    ["-1", new JsonNumber("-1")],
    ["3.0", new JsonNumber("3.0")],
    ["3e0", new JsonNumber("3e0")],
    ["a numeric string", "3"],
    ["a capitalised status", "Running"],
    ["an unknown status", "exploded"],
    ["empty", ""],
    ["null", null],
    ["a bool", true],
    ["missing", undefined],
  ])("%s is not a status", (_what, v) => {
    expect(decodeStatus(v)).toBeUndefined();
  });
});

describe("status: a document keeps its encoding", () => {
  it.each(LEGACY)("a legacy file with status %i is normalized to %s and written back as an integer", (n, s) => {
    const doc = StateDocument.parse(stateText({ containerId: "c1", status: n }), "c1_sandbox:c1.state");
    expect(doc.status).toBe(s);
    expect(doc.fields.storedStatus).toBe(s);
    expect(doc.fields.statusEncoding).toBe("legacy-int");
    doc.status = "paused";
    expect(doc.encode()).toContain('"status":2,');
    doc.status = "stopped";
    expect(doc.encode()).toContain('"status":4,');
  });

  it("a string file is written back as a string", () => {
    const doc = StateDocument.parse(stateText({ containerId: "c1", status: "created" }), "c1_sandbox:c1.state");
    expect(doc.fields.statusEncoding).toBe("string");
    doc.status = "paused";
    expect(doc.encode()).toContain('"status":"paused",');
  });
});

describe("status: through the store", () => {
  it("load normalizes a legacy integer status in fields.storedStatus and status", async () => {
    const root = makeRoot();
    writeState(root, { containerId: "c1", status: 3 });
    const c = await open(root).load("c1", { skipCheck: true });
    expect(c.status).toBe("running");
    expect(c.fields.storedStatus).toBe("running");
    expect(c.fields.statusEncoding).toBe("legacy-int");
  });

  it("update of a legacy file writes the status back as an integer, changing only that value", async () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "c1", status: 0 });
    const before = fs.readFileSync(file, "utf8");
    expect(before).toContain('"status":0,');
    const written = await open(root).update("c1", (doc) => {
      doc.status = "running";
    });
    expect(written.status).toBe("running");
    expect(fs.readFileSync(file, "utf8")).toBe(before.replace('"status":0,', '"status":3,'));
  });

  it("update of a string file writes the status back as a string", async () => {
    const root = makeRoot();
    const file = writeState(root, { containerId: "c1", status: "created" });
    const before = fs.readFileSync(file, "utf8");
    await open(root).update("c1", (doc) => {
      doc.status = "paused";
    });
    expect(fs.readFileSync(file, "utf8")).toBe(before.replace('"status":"created",', '"status":"paused",'));
  });

  it("list shows a legacy file's status normalized", async () => {
    const root = makeRoot();
    writeState(root, { containerId: "c1", status: 2 });
    writeState(root, { containerId: "c2", status: "paused" });
    const rows = await open(root).list({ skipCheck: true });
    expect(rows.map((r) => [r.containerId, r.status, r.storedStatus])).toEqual([
      ["c1", "paused", "paused"],
      ["c2", "paused", "paused"],
    ]);
  });
});
