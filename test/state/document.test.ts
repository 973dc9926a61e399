import { describe, expect, it } from "vitest";
import { CorruptStateError, JsonNumber, RunscIndexError, StateDocument } from "../../src/index.js";
import {
  FIXTURE_ROOT_ID,
  FIXTURE_SANDBOX_ID,
  FIXTURE_STATE_NAMES,
  FIXTURE_SUB_ID,
  type JsonDoc,
  readFixture,
  stateObject,
  stateText,
} from "../helpers/roots.js";

const ROOT_NAME = FIXTURE_STATE_NAMES[0]!;
const SUB_NAME = FIXTURE_STATE_NAMES[1]!;
const fixtureText = (name: string) => readFixture(name).toString("utf8");

const INT64_MAX = "9223372036854775807";
const UINT64_MAX = "18446744073709551615";

/** The fixture with spec.linux.resources.memory = {limit: int64 max, swap: uint64 max}. */
function withBigLimits(text: string): string {
  const out = text.replace('"resources":{', `"resources":{"memory":{"limit":${INT64_MAX},"swap":${UINT64_MAX}},`);
  expect(out).not.toBe(text);
  return out;
}

function corrupt(text: string, file = "c1_sandbox:s1.state"): CorruptStateError {
  try {
    StateDocument.parse(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptStateError);
    expect(e).toBeInstanceOf(RunscIndexError);
    const err = e as CorruptStateError;
    expect(err.code).toBe("ERR_CORRUPT_STATE");
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain(err.reason);
    return err;
  }
  throw new Error(`StateDocument.parse accepted ${JSON.stringify(text.slice(0, 80))}`);
}

function corruptWith(edit: (doc: JsonDoc) => void): CorruptStateError {
  return corrupt(stateText({ containerId: "c1", edit }));
}

describe("document: the fixtures", () => {
  it.each(FIXTURE_STATE_NAMES)("parse then encode with no change is byte-identical: %s", (name) => {
    const text = fixtureText(name);
    expect(StateDocument.parse(text, name).encode()).toBe(text);
  });

  it("reads the typed fields of the root container", () => {
    const f = StateDocument.parse(fixtureText(ROOT_NAME), ROOT_NAME).fields;
    expect(f).toMatchObject({
      containerId: FIXTURE_ROOT_ID,
      sandboxId: FIXTURE_SANDBOX_ID,
      storedStatus: "running",
      statusEncoding: "string",
      pid: 412345,
      goferPid: 412331,
      createdAt: "2026-08-12T14:03:27.418862107Z",
      owner: "",
      podName: "web-7d9f8c6b5-x2lqp",
      podNamespace: "default",
      startTime: "2026-08-12T14:03:27.401772118Z",
    });
    expect(f.bundleDir).toBe(`/run/containerd/io.containerd.runtime.v2.task/k8s.io/${FIXTURE_ROOT_ID}`);
    expect(f.annotations["io.kubernetes.cri.container-type"]).toBe("sandbox");
    expect(f.annotations["io.kubernetes.cri.sandbox-id"]).toBe(FIXTURE_SANDBOX_ID);
  });

  it("reads the typed fields of the sub-container (created, gofer not started)", () => {
    const f = StateDocument.parse(fixtureText(SUB_NAME), SUB_NAME).fields;
    expect(f).toMatchObject({
      containerId: FIXTURE_SUB_ID,
      sandboxId: FIXTURE_SANDBOX_ID,
      storedStatus: "created",
      goferPid: 0,
      pid: 412345,
    });
  });

  it("changing one field changes exactly those bytes", () => {
    const text = fixtureText(ROOT_NAME);
    const doc = StateDocument.parse(text, ROOT_NAME);
    doc.status = "paused";
    expect(doc.encode()).toBe(text.replace('"status":"running"', '"status":"paused"'));
    expect(doc.fields.storedStatus).toBe("paused");
  });
});

describe("document: lossless values", () => {
  it("int64 and uint64 maxima keep every digit through parse, a change elsewhere, and encode", () => {
    const text = withBigLimits(fixtureText(ROOT_NAME));
    const doc = StateDocument.parse(text, ROOT_NAME);
    const limit = doc.get(["spec", "linux", "resources", "memory", "limit"]);
    expect(limit).toBeInstanceOf(JsonNumber);
    expect((limit as JsonNumber).raw).toBe(INT64_MAX);
    expect(doc.getPlain(["spec", "linux", "resources", "memory", "limit"])).toBe(9223372036854775807n);
    expect(doc.getPlain(["spec", "linux", "resources", "memory", "swap"])).toBe(18446744073709551615n);
    doc.set(["sandbox", "pid"], 4242);
    const out = doc.encode();
    expect(out).toContain(`"memory":{"limit":${INT64_MAX},"swap":${UINT64_MAX}}`);
    expect(out).toBe(text.replace('"pid":412345', '"pid":4242'));
  });

  it("a bigint set through set() is written with every digit", () => {
    const doc = StateDocument.parse(fixtureText(ROOT_NAME), ROOT_NAME);
    doc.set(["spec", "linux", "resources", "pids"], { limit: 9223372036854775806n });
    expect(doc.encode()).toContain('"pids":{"limit":9223372036854775806}');
  });

  it("unknown fields and their key order survive, at the top and nested", () => {
    const text = fixtureText(SUB_NAME)
      .replace(/}$/, ',"futureField":{"z":1,"a":[true,null],"10":"x","2":"y"}}')
      .replace('"sandbox":{', '"sandbox":{"newSandboxField":"v",');
    const doc = StateDocument.parse(text, SUB_NAME);
    expect(doc.encode()).toBe(text);
    doc.status = "running";
    expect(doc.encode()).toBe(text.replace('"status":"created"', '"status":"running"'));
  });

  it("integer-like annotation keys keep Go's order (a JS object would move them first)", () => {
    // Go sorts map keys by bytes: "10" < "2" < "b" < "dev...", where a JS object puts 2 before 10.
    const text = fixtureText(ROOT_NAME).replace('"annotations":{', '"annotations":{"10":"2","2":"3","b":"1",');
    const doc = StateDocument.parse(text, ROOT_NAME);
    expect(doc.encode()).toBe(text);
    expect(doc.fields.annotations["10"]).toBe("2");
  });

  it("set keeps an existing key in place and appends a new key last", () => {
    const doc = StateDocument.from({ id: "c1", status: "created", sandbox: { id: "c1", pid: 1 }, owner: "" });
    doc.set(["status"], "running");
    doc.set(["extra"], [1, "two"]);
    expect(doc.encode()).toBe(
      '{"id":"c1","status":"running","sandbox":{"id":"c1","pid":1},"owner":"","extra":[1,"two"]}',
    );
  });

  // Changed on purpose (issue 12): set creates missing parents; only a parent of another kind is an error.
  it("set under a parent that is neither object nor array throws TypeError and changes nothing", () => {
    const text = fixtureText(ROOT_NAME);
    const doc = StateDocument.parse(text, ROOT_NAME);
    expect(() => doc.set(["owner", "x"], 1)).toThrow(TypeError);
    expect(() => doc.set(["spec", "ociVersion", "deeper", "still"], 1)).toThrow(TypeError);
    expect(() => doc.set([], 1)).toThrow(TypeError);
    expect(doc.encode()).toBe(text);
  });

  it("fields follow changes made through set()", () => {
    const doc = StateDocument.parse(fixtureText(ROOT_NAME), ROOT_NAME);
    doc.set(["sandbox", "pid"], 77);
    doc.set(["goferPid"], 0);
    expect(doc.fields.pid).toBe(77);
    expect(doc.fields.goferPid).toBe(0);
  });
});

describe("document: Go escaping on output", () => {
  it("<, >, &, U+2028 and U+2029 are written as \\u escapes; other non-ASCII as UTF-8", () => {
    const doc = StateDocument.parse(fixtureText(ROOT_NAME), ROOT_NAME);
    doc.set(["owner"], '<a>&b\u2028c\u2029d é \u{1f600}\t"\\');
    const out = doc.encode();
    expect(out).toContain('"owner":"\\u003ca\\u003e\\u0026b\\u2028c\\u2029d é \u{1f600}\\t\\"\\\\"');
    expect(StateDocument.parse(out, ROOT_NAME).fields.owner).toBe('<a>&b\u2028c\u2029d é \u{1f600}\t"\\');
  });

  it("control characters use Go's escapes (\\n, \\r, \\u00XX)", () => {
    const doc = StateDocument.from(stateObject({ containerId: "c1" }));
    doc.set(["owner"], "a\nb\rc\u0001d\u001f");
    expect(doc.encode()).toContain('"owner":"a\\nb\\rc\\u0001d\\u001f"');
  });

  it("escaped input (\\u003c) is read as the character and written back escaped the same way", () => {
    const text = fixtureText(ROOT_NAME).replace('"owner":""', '"owner":"\\u003cme\\u003e"');
    const doc = StateDocument.parse(text, ROOT_NAME);
    expect(doc.fields.owner).toBe("<me>");
    expect(doc.encode()).toBe(text);
  });

  it("no trailing newline, compact output", () => {
    const out = StateDocument.from(stateObject({ containerId: "c1" })).encode();
    expect(out.endsWith("}")).toBe(true);
    expect(out).not.toMatch(/\n/);
    expect(out).not.toMatch(/": /);
  });
});

describe("document: corrupt input gives ERR_CORRUPT_STATE with the file name and reason", () => {
  const text = fixtureText(ROOT_NAME);

  it("empty file", () => {
    expect(corrupt("").reason).toBe("empty file");
  });

  it("whitespace only", () => {
    expect(corrupt(" \n").reason).toMatch(/invalid JSON/);
  });

  it.each([1, 100, 1000, 7000])("truncated to %i bytes", (n) => {
    expect(corrupt(text.slice(0, n)).reason).toMatch(/invalid JSON/);
  });

  it("truncated by one byte", () => {
    expect(corrupt(text.slice(0, -1)).reason).toMatch(/invalid JSON/);
  });

  it.each([
    ["not JSON", "hello"],
    ["trailing garbage", `${text}x`],
    ["two documents", `${text}${text}`],
    ["a NUL-filled file (a crash mid-write)", "\0".repeat(64)],
  ])("%s", (_what, bad) => {
    expect(corrupt(bad).reason).toMatch(/invalid JSON/);
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"x"'],
    ["a number", "42"],
    ["null", "null"],
  ])("not an object: %s", (_what, bad) => {
    expect(corrupt(bad).reason).toMatch(/not a JSON object|not an object/);
  });

  it("sandbox null (runsc would panic on it)", () => {
    expect(corrupt(text.replace(/"sandbox":\{.*?"startTime":"[^"]*"[^}]*?\}/, '"sandbox":null')).reason).toMatch(
      /sandbox/,
    );
    expect(corruptWith((d) => (d.sandbox = null)).reason).toMatch(/"sandbox" is missing or null/);
  });

  it("sandbox missing", () => {
    expect(corruptWith((d) => delete d.sandbox).reason).toMatch(/"sandbox" is missing or null/);
  });

  const wrongTypes: [string, (d: JsonDoc) => unknown, RegExp][] = [
    ["id is a number", (d) => (d.id = 5), /"id" is not a string/],
    ["sandbox is a string", (d) => (d.sandbox = "s1"), /"sandbox" is not an object/],
    ["sandbox.id is an object", (d) => (d.sandbox.id = {}), /"sandbox.id" is not a string/],
    ["sandbox.pid is a string", (d) => (d.sandbox.pid = "123"), /"sandbox.pid" is not an integer/],
    ["sandbox.pid is fractional", (d) => (d.sandbox.pid = 1.5), /"sandbox.pid" is not an integer/],
    ["goferPid is a bool", (d) => (d.goferPid = true), /"goferPid" is not an integer/],
    ["createdAt is a number", (d) => (d.createdAt = 1), /"createdAt" is not a string/],
    ["bundleDir is an array", (d) => (d.bundleDir = []), /"bundleDir" is not a string/],
    ["owner is a number", (d) => (d.owner = 0), /"owner" is not a string/],
    ["sandbox.startTime is a number", (d) => (d.sandbox.startTime = 0), /"sandbox.startTime"/],
    ["status is unknown", (d) => (d.status = "exploded"), /"status" is not a known status/],
    ["status is capitalised", (d) => (d.status = "Running"), /"status" is not a known status/],
    ["status is missing", (d) => delete d.status, /"status" is not a known status/],
    ["status is an out-of-range integer", (d) => (d.status = 5), /"status" is not a known status/],
    ["status is a bool", (d) => (d.status = true), /"status" is not a known status/],
    ["an annotation is a number", (d) => (d.spec.annotations.x = 1), /"spec.annotations.x" is not a string/],
    ["annotations is an array", (d) => (d.spec.annotations = []), /annotations" is not an object/],
    ["spec is a string", (d) => (d.spec = "x"), /"spec" is not an object/],
  ];
  it.each(wrongTypes)("wrong type in a field we read: %s", (_what, edit, reason) => {
    expect(corruptWith(edit).reason).toMatch(reason);
  });

  it("a pid beyond 2^53 is refused rather than rounded", () => {
    const bad = text.replace('"pid":412345', `"pid":${INT64_MAX}`);
    expect(corrupt(bad).reason).toMatch(/"sandbox.pid" is not an integer/);
  });

  it("fields we do not read may have any type (Go ignores unknown fields)", () => {
    const doc = StateDocument.parse(stateText({ containerId: "c1", edit: (d) => (d.compatCgroup = 12) }), "x");
    expect(doc.fields.containerId).toBe("c1");
  });

  it("missing fields we read are their zero values, as in Go", () => {
    const doc = StateDocument.from({ id: "c1", status: "created", sandbox: { id: "c1" } });
    expect(doc.fields).toMatchObject({ pid: 0, goferPid: 0, createdAt: "", owner: "", startTime: "", bundleDir: "" });
    expect(doc.fields.annotations).toEqual({});
  });

  it("StateDocument.from refuses a document with sandbox null", () => {
    expect(() => StateDocument.from({ id: "c1", status: "created", sandbox: null })).toThrow(CorruptStateError);
  });
});
