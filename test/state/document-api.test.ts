import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StateDocument } from "../../src/index.js";
import { FIXTURE_STATE_NAMES, readFixture, stateObject } from "../helpers/roots.js";

const NAME = FIXTURE_STATE_NAMES[0]!;
const fixture = () => StateDocument.parse(readFixture(NAME).toString("utf8"), NAME);

describe("StateDocument API (issue 12)", () => {
  it("getString reads strings by array or dotted path; missing and null are undefined; other kinds throw", () => {
    const doc = fixture();
    expect(doc.getString(["sandbox", "podName"])).toBe("web-7d9f8c6b5-x2lqp");
    expect(doc.getString("sandbox.podName")).toBe("web-7d9f8c6b5-x2lqp");
    expect(doc.getString("sandbox.nothing")).toBeUndefined();
    expect(doc.getString("sandbox.registeredMetrics")).toBeUndefined(); // null
    expect(() => doc.getString("sandbox.pid")).toThrow(TypeError);
    expect(() => doc.getString("spec.process")).toThrow(/"spec.process" is not a string/);
  });

  it("getInt returns a number up to 2^53-1 and a bigint beyond, never losing a digit", () => {
    const doc = fixture();
    expect(doc.getInt("sandbox.pid")).toBe(412345);
    expect(doc.getInt(["spec", "linux", "uidMappings", 0, "size"])).toBe(4294967295);
    doc.set("spec.linux.resources.memory.limit", 2n ** 63n - 1n);
    expect(doc.getInt("spec.linux.resources.memory.limit")).toBe(2n ** 63n - 1n);
    doc.set("x", 2 ** 53 - 1);
    expect(doc.getInt("x")).toBe(2 ** 53 - 1);
    doc.set("x", 2n ** 53n);
    expect(doc.getInt("x")).toBe(2n ** 53n);
    expect(doc.getInt("missing")).toBeUndefined();
    expect(() => doc.getInt("owner")).toThrow(TypeError);
    doc.set("x", 1.5);
    expect(() => doc.getInt("x")).toThrow(/"x" is not an integer/);
  });

  it("getInt is exact for every int64 and uint64 (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), (n) => {
        const doc = fixture();
        doc.set("v", n);
        const back = StateDocument.parse(doc.encode(), NAME).getInt("v");
        expect(BigInt(back as number | bigint)).toBe(n);
        expect(typeof back).toBe(n >= -(2n ** 53n - 1n) && n <= 2n ** 53n - 1n ? "number" : "bigint");
      }),
    );
  });

  it("set creates missing parents as objects, new keys last, existing keys in place", () => {
    const doc = fixture();
    doc.set("spec.linux.resources.pids.limit", 100);
    doc.set(["brand", "new", "leaf"], "x");
    expect(doc.getInt("spec.linux.resources.pids.limit")).toBe(100);
    const text = doc.encode();
    expect(text).toContain(
      '"resources":{"devices":[{"allow":false,"access":"rwm"}],"cpu":{"shares":2},"pids":{"limit":100}}',
    );
    expect(text.endsWith(',"brand":{"new":{"leaf":"x"}}}')).toBe(true);
    doc.set("owner", "me");
    expect(doc.encode()).toContain('"createdAt":"2026-08-12T14:03:27.418862107Z","owner":"me","consoleSocket"');
  });

  it("delete removes a key or an array element, reports whether it did, and updates the fields", () => {
    const doc = fixture();
    expect(doc.delete("sandbox.podName")).toBe(true);
    expect(doc.fields.podName).toBe("");
    expect(doc.delete("sandbox.podName")).toBe(false);
    expect(doc.delete("no.such.path")).toBe(false);
    const before = (doc.getPlain("spec.process.args") as string[]).length;
    expect(doc.delete(["spec", "process", "args", 0])).toBe(true);
    expect((doc.getPlain("spec.process.args") as string[]).length).toBe(before - 1);
    expect(doc.encode()).not.toContain('"podName"');
    expect(() => doc.delete([])).toThrow(TypeError);
  });

  it("toJSON is a plain object with Go maps in Go's order; JSON.stringify of it is the file for plain keys", () => {
    const text = readFixture(NAME).toString("utf8");
    const plain = StateDocument.parse(text, NAME).toJSON();
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(JSON.stringify(plain)).toBe(text);
    const doc = StateDocument.from(
      stateObject({ containerId: "c1", edit: (d) => (d.spec.annotations = { z: "1", a: "2" }) }),
    );
    expect(Object.keys((doc.toJSON().spec as { annotations: object }).annotations)).toEqual(["a", "z"]);
  });
});
