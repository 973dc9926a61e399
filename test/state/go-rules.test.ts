import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptStateError, StateDocument } from "../../src/index.js";
import { FieldError } from "../../src/state/fields.js";
import { fromPlain, type JsonObject } from "../../src/state/go-json.js";
import { compareGoStrings, goField, goFold } from "../../src/state/go-keys.js";
import { checkGoTypes, isGoRfc3339 } from "../../src/state/go-rules.js";
import { indexFields } from "../../src/state/index-fields.js";
import {
  FIXTURE_STATE_NAMES,
  goTime,
  type JsonDoc,
  readFixture,
  type StateSpec,
  stateObject,
} from "../helpers/roots.js";

const ROOT = "/run/runsc-test";

/** A generated document, with saver.rootDir = ROOT, then `edit`. */
function doc(edit?: (d: JsonDoc) => void, spec: Partial<StateSpec> = {}): JsonDoc {
  return stateObject({ containerId: "c1", rootDir: ROOT, ...spec, edit });
}

/** goError returns the message checkGoTypes throws for a plain document, or undefined when it passes. */
function goError(d: unknown): string | undefined {
  try {
    checkGoTypes(fromPlain(d));
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(FieldError);
    return (e as Error).message;
  }
}

function writable(d: JsonDoc, rootDir = ROOT): CorruptStateError | undefined {
  try {
    StateDocument.from(d).checkWritable(rootDir);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptStateError);
    return e as CorruptStateError;
  }
}

describe("go rules: what runsc writes passes", () => {
  it.each(FIXTURE_STATE_NAMES)("the fixture %s passes the Go type check and checkWritable (its saver kept)", (name) => {
    const parsed = StateDocument.parse(readFixture(name).toString("utf8"), name);
    expect(() => checkGoTypes(parsed.root)).not.toThrow();
    const { containerId, sandboxId } = parsed.fields;
    // Its saver names /run/containerd/runsc/k8s.io: kept as parsed, so writable from any root.
    expect(parsed.checkWritable("/elsewhere")).toEqual({ containerId, sandboxId });
  });

  it.each([
    ["root container", {}],
    ["sub-container", { sandboxId: "s1" }],
    ...["created", "creating", "running", "paused", "stopped"].map((status) => [`status ${status}`, { status }]),
    ...[0, 1, 2, 3, 4].map((status) => [`legacy integer status ${status}`, { status }]),
    ["pid 0", { pid: 0 }],
    ["pid 1", { pid: 1 }],
    ["a createdAt from goTime", { createdAt: goTime(new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 1))) }],
  ] as [string, Partial<StateSpec>][])("a generated document (%s) is writable", (_what, spec) => {
    expect(writable(doc(undefined, spec))).toBeUndefined();
  });
});

describe("go rules: refused, with the field's JSON path", () => {
  it.each([
    ["sandbox.pid", (d: JsonDoc) => (d.sandbox.pid = "1"), /"sandbox.pid" must be a number: string "1"/],
    ["sandbox.pid", (d: JsonDoc) => (d.sandbox.pid = 1.5), /"sandbox.pid" is not a Go int: number 1.5/],
    ["sandbox.pid", (d: JsonDoc) => (d.sandbox.pid = 2 ** 63), /"sandbox.pid" is a JS number past 2\^53/],
    ["sandbox.pid", (d: JsonDoc) => (d.sandbox.pid = 2n ** 63n), /"sandbox.pid" is out of range for Go int/],
    ["goferPid", (d: JsonDoc) => (d.goferPid = -(2n ** 63n) - 1n), /"goferPid" is out of range for Go int/],
    ["goferPid", (d: JsonDoc) => (d.goferPid = 1e3), undefined], // 1e3 is written 1000
    ["goferPid", (d: JsonDoc) => (d.goferPid = true), /"goferPid" must be a number: boolean true/],
    ["uid", (d: JsonDoc) => (d.spec.process.user.uid = -1), /"spec.process.user.uid" is not a Go uint32/],
    [
      "uid",
      (d: JsonDoc) => (d.spec.process.user.uid = 2 ** 32),
      /"spec.process.user.uid" is out of range for Go uint32/,
    ],
    [
      "uidMappings",
      (d: JsonDoc) => (d.spec.linux.uidMappings[0].size = 2 ** 32),
      /"spec.linux.uidMappings\[0\].size" is out of range for Go uint32/,
    ],
    [
      "memory.limit",
      (d: JsonDoc) => (d.spec.linux.resources.memory = { limit: 2n ** 63n }),
      /"spec.linux.resources.memory.limit" is out of range for Go int64/,
    ],
    [
      "cpu.shares",
      (d: JsonDoc) => (d.spec.linux.resources.cpu.shares = -2),
      /"spec.linux.resources.cpu.shares" is not a Go uint64/,
    ],
    ["createdAt", (d: JsonDoc) => (d.createdAt = "yesterday"), /"createdAt" is not an RFC 3339 time: "yesterday"/],
    ["createdAt", (d: JsonDoc) => (d.createdAt = 5), /"createdAt" must be a string \(an RFC 3339 time\): number 5/],
    ["startTime", (d: JsonDoc) => (d.sandbox.startTime = ""), /"sandbox.startTime" is not an RFC 3339 time: ""/],
    ["annotations", (d: JsonDoc) => (d.spec.annotations.x = 1), /"spec.annotations.x" must be a string: number 1/],
    [
      "annotations (dotted key)",
      (d: JsonDoc) => (d.spec.annotations["io.k8s/x"] = false),
      /"spec.annotations\["io.k8s\/x"\]" must be a string/,
    ],
    ["args", (d: JsonDoc) => (d.spec.process.args = "sleep"), /"spec.process.args" must be an array: string "sleep"/],
    ["terminal", (d: JsonDoc) => (d.spec.process.terminal = "false"), /"spec.process.terminal" must be a boolean/],
    ["cgroup", (d: JsonDoc) => (d.sandbox.cgroup = []), /"sandbox.cgroup" must be an object: an array/],
    [
      "cgroup controllers",
      (d: JsonDoc) => (d.sandbox.cgroup.cgroupv2.controllers = "cpu"),
      /"sandbox.cgroup.cgroupv2.controllers" must be an array/,
    ],
    [
      "compatCgroup v1 own",
      (d: JsonDoc) => (d.compatCgroup = { cgroupv1: { name: "x", own: { cpu: "yes" } } }),
      /"compatCgroup.cgroupv1.own.cpu" must be a boolean/,
    ],
    [
      "mountHints",
      (d: JsonDoc) => (d.sandbox.mountHints.mounts.gvisorinternaldevshm.mount.uidMappings = [{ hostID: -1 }]),
      /"sandbox.mountHints.mounts.gvisorinternaldevshm.mount.uidMappings\[0\].hostID" is not a Go uint32/,
    ],
    ["cpuTimeSaved", (d: JsonDoc) => (d.sandbox.cpuTimeSaved = 0.5), /"sandbox.cpuTimeSaved" is not a Go int64/],
    [
      "sysctl",
      (d: JsonDoc) => (d.spec.linux.sysctl = { "net.x": 1 }),
      /"spec.linux.sysctl\["net.x"\]" must be a string/,
    ],
    ["saver", (d: JsonDoc) => (d.saver.id.containerId = 7), /"saver.id.containerId" must be a string/],
    [
      "seccomp",
      (d: JsonDoc) => (d.spec.linux.seccomp = { syscalls: [{ errnoRet: -1 }] }),
      /syscalls\[0\].errnoRet" is not a Go uint/,
    ],
    ["case-insensitive key", (d: JsonDoc) => (d.sandbox.PID = "1"), /"sandbox.PID" must be a number/],
    ["Kelvin sign folds to K", (d: JsonDoc) => (d.spec.process.user["\u212aey"] = 1), undefined],
    ["document", (d: JsonDoc) => (d.spec = "x"), /"spec" must be an object: string "x"/],
  ] as [string, (d: JsonDoc) => void, RegExp | undefined][])("%s", (_what, edit, expected) => {
    const message = goError(doc(edit));
    if (expected === undefined) expect(message).toBeUndefined();
    else expect(message).toMatch(expected);
  });

  it("a float64 overflow inside interface{} (registeredMetrics) is refused: Go decodes it to float64", () => {
    const text = JSON.stringify(doc()).replace('"registeredMetrics":null', '"registeredMetrics":{"x":[1e400]}');
    const parsed = StateDocument.parse(text, "c1_sandbox:c1.state");
    expect(() => checkGoTypes(parsed.root)).toThrow(/"sandbox.registeredMetrics.x\[0\]" overflows Go float64/);
  });

  it("missing spec or sandbox, a foreign saver or a saver naming other IDs: ERR_CORRUPT_STATE naming the field", () => {
    const cases: [(d: JsonDoc) => void, RegExp][] = [
      [(d) => delete d.spec, /"spec" must be an object: missing/],
      [(d) => (d.spec = null), /"spec" must be an object/],
      [(d) => delete d.saver, /"saver" must be an object naming the file: missing/],
      [
        (d) => (d.saver.rootDir = "/run/other"),
        /"saver.rootDir" must be this store's root "\/run\/runsc-test": "\/run\/other"/,
      ],
      [(d) => (d.saver.rootDir = "run/runsc-test"), /"saver.rootDir" must be this store's root/],
      [(d) => (d.saver.id.containerId = "c2"), /"saver.id.containerId" must be "c1", the file's: "c2"/],
      [(d) => (d.saver.id.sandboxId = "s9"), /"saver.id.sandboxId" must be "c1", the file's: "s9"/],
    ];
    for (const [edit, reason] of cases) {
      const e = writable(doc(edit));
      expect(e?.code).toBe("ERR_CORRUPT_STATE");
      expect(e?.reason).toMatch(reason);
      expect(e?.message).toMatch(/^refusing to write state file "c1_sandbox:c1\.state": /);
    }
    // A document without a sandbox is not even a StateDocument (fields need sandbox.id).
    expect(() => StateDocument.from(doc((d) => (d.sandbox = null)))).toThrow(/"sandbox" is missing or null/);
    expect(() => StateDocument.from(doc((d) => (d.status = "exploded")))).toThrow(/"status" is not a known status/);
    // The same root spelled with a trailing slash names the same directory.
    expect(writable(doc((d) => (d.saver.rootDir = `${ROOT}/`)))).toBeUndefined();
  });
});

describe("go rules: what Go tolerates is never refused", () => {
  it.each([
    [
      "null for a pointer, a non-pointer, a time, a map and a slice",
      (d: JsonDoc) => {
        d.sandbox.pid = null;
        d.goferPid = null;
        d.createdAt = null;
        d.spec.annotations = null;
        d.spec.process.args = null;
        d.sandbox.cgroup = null;
      },
    ],
    [
      "unknown fields of any type",
      (d: JsonDoc) => {
        d.future = [1, { a: "b" }];
        d.sandbox.newThing = { deep: 1.5 };
      },
    ],
    [
      "integers at their Go limits",
      (d: JsonDoc) => {
        d.spec.process.user.uid = 2 ** 32 - 1;
        d.spec.linux.resources.memory = { limit: 2n ** 63n - 1n, swap: -(2n ** 63n) };
        d.spec.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: 2n ** 64n - 1n, soft: 0 }];
      },
    ],
    [
      "RFC 3339 with offsets, fractions of any length and a leap day",
      (d: JsonDoc) => {
        d.createdAt = "2024-02-29T23:59:59.123456789012+05:30";
        d.sandbox.startTime = "0000-01-01T00:00:00-23:59";
      },
    ],
    [
      "old cgroup shapes",
      (d: JsonDoc) => {
        d.sandbox.cgroup = { cgroupv1: null };
        d.compatCgroup = { cgroupunknown: null, other: [1] };
      },
    ],
    [
      "a systemd cgroup with its untagged fields",
      (d: JsonDoc) => {
        d.sandbox.cgroup = { cgroupsystemd: { mountpoint: "/sys/fs/cgroup", Name: "x.scope", Parent: "y.slice" } };
      },
    ],
    [
      "goferMountConfs in every historical shape",
      (d: JsonDoc) => {
        d.goferMountConfs = [1, { lower: 1, upper: 2, size: "1g" }];
      },
    ],
  ] as [string, (d: JsonDoc) => void][])("%s", (_what, edit) => {
    expect(goError(doc(edit))).toBeUndefined();
  });

  it("a uint32 field accepts exactly the integers 0..2^32-1 (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), (n) => {
        const message = goError(doc((d) => (d.spec.process.user.gid = n)));
        expect(message === undefined).toBe(n >= 0n && n < 2n ** 32n);
      }),
    );
  });

  it("an int field accepts exactly the integers of int64 (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }), (n) => {
        const message = goError(doc((d) => (d.sandbox.uid = n)));
        expect(message === undefined).toBe(n >= -(2n ** 63n) && n < 2n ** 63n);
      }),
    );
  });

  it("every time Go's RFC3339Nano formatting can produce is accepted (property)", () => {
    const date = fc.date({
      min: new Date(Date.UTC(0, 0, 1)),
      max: new Date(Date.UTC(9999, 11, 31)),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(date, fc.integer({ min: -1439, max: 1439 }), (d, offsetMin) => {
        const utc = goTime(d);
        expect(isGoRfc3339(utc)).toBe(true);
        const sign = offsetMin < 0 ? "-" : "+";
        const abs = Math.abs(offsetMin);
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
        expect(isGoRfc3339(utc.replace("Z", zone))).toBe(true);
      }),
    );
  });

  it.each([
    "2026-08-12T14:03:27z",
    "2026-08-12t14:03:27Z",
    "2026-08-12 14:03:27Z",
    "2026-08-12T14:03:27",
    "2026-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-08-12T24:00:00Z",
    "2026-08-12T23:60:00Z",
    "2026-08-12T23:00:60Z",
    "2026-08-12T1:00:00Z",
    "2026-08-12T14:03:27,5Z",
    "2026-08-12T14:03:27.Z",
    "2026-08-12T14:03:27+24:00",
    "2026-08-12T14:03:27+0530",
    "+2026-08-12T14:03:27Z",
  ])("not RFC 3339 as Go reads it: %s", (s) => {
    expect(isGoRfc3339(s)).toBe(false);
  });
});

describe("go keys: matching and order", () => {
  it("goField matches keys case-insensitively, the last match winning, as json.Unmarshal does", () => {
    const obj: JsonObject = new Map([
      ["pid", "a"],
      ["PID", "b"],
      ["other", "c"],
    ]);
    expect(goField(obj, "pid")).toBe("b");
    expect(goField(new Map([["\u017fpec", "long s"]]), "spec")).toBe("long s");
    expect(goField(new Map([["\u212aey", "kelvin"]]), "key")).toBe("kelvin");
    expect(goField(new Map([["sp", "short"]]), "spec")).toBeUndefined();
    expect(goFold("ownerId\u0131")).toBe("OWNERIDI");
  });

  it("a file whose keys differ in case from the tags is read as Go reads it", () => {
    const text = JSON.stringify(doc())
      .replace('"goferPid":412331', '"GoferPid":99')
      .replace('"owner":""', '"OWNER":"me"');
    const parsed = StateDocument.parse(text, "c1_sandbox:c1.state");
    expect(parsed.fields.goferPid).toBe(99);
    expect(parsed.fields.owner).toBe("me");
  });

  it("keys in any letter case give the same typed fields to load and to the index (property)", () => {
    const rootKeys = ["id", "status", "goferPid", "createdAt", "bundleDir", "owner", "sandbox", "spec"];
    const sandboxKeys = ["id", "pid", "podName", "namespace", "startTime"];
    const vary = (name: string, flips: boolean[]) =>
      [...name].map((c, i) => (flips[i % Math.max(flips.length, 1)] ? c.toUpperCase() : c.toLowerCase())).join("");
    const rename = (obj: JsonDoc, keys: string[], flips: boolean[]) => {
      for (const k of keys) {
        const v = obj[k];
        delete obj[k];
        obj[vary(k, flips)] = v;
      }
    };
    const base = StateDocument.from(doc((d) => (d.owner = "me"), { sandboxId: "s1" })).fields;
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 9 }), fc.array(fc.boolean(), { maxLength: 9 }), (f1, f2) => {
        const d = doc((x) => (x.owner = "me"), { sandboxId: "s1" });
        rename(d.sandbox, sandboxKeys, f2);
        rename(d, rootKeys, f1);
        const text = JSON.stringify(d);
        expect(StateDocument.parse(text, "x").fields).toEqual(base);
        expect(indexFields(text, "x")).toEqual(base);
      }),
      { numRuns: 200 },
    );
  });

  it("compareGoStrings orders as Go compares UTF-8 bytes, lone surrogates as U+FFFD (property)", () => {
    const str = fc.string({
      unit: fc.constantFrom("a", "B", "0", "é", "\uffff", "\ufffd", "\u{1f600}", "\ud800", "\udc00", "\ue000"),
    });
    fc.assert(
      fc.property(fc.array(str, { maxLength: 8 }), (keys) => {
        const ours = [...keys].sort(compareGoStrings);
        // Buffer.from encodes a lone surrogate as EF BF BD, which is what Go holds after decoding.
        const bytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(ours.map((k) => Buffer.from(k).toString("hex"))).toEqual(
          bytes.map((k) => Buffer.from(k).toString("hex")),
        );
      }),
    );
  });

  it("encode writes every Go map sorted and leaves struct and unknown-object order alone", () => {
    const d = StateDocument.from(
      doc((x) => {
        x.spec.annotations = { b: "1", "10": "2", a: "3", "\u{1f600}": "4", "\uffff": "5" };
        x.spec.linux.sysctl = { "net.z": "1", "net.a": "2" };
        x.sandbox.metricMetadata = { z: "", a: "" };
        x.sandbox.mountHints.mounts = { zz: { name: "zz" }, aa: { name: "aa" } };
        x.compatCgroup = { cgroupv1: { name: "n", parents: { z: "1", a: "2" }, own: { pids: true, cpu: false } } };
        x.unknown = { z: 1, a: 2 };
      }),
    );
    const text = d.encode();
    expect(text).toContain('"annotations":{"10":"2","a":"3","b":"1","\uffff":"5","\u{1f600}":"4"}');
    expect(text).toContain('"sysctl":{"net.a":"2","net.z":"1"}');
    expect(text).toContain('"metricMetadata":{"a":"","z":""}');
    expect(text).toContain('"mounts":{"aa":{"name":"aa"},"zz":{"name":"zz"}}');
    expect(text).toContain('"cgroupv1":{"name":"n","parents":{"a":"2","z":"1"},"own":{"cpu":false,"pids":true}}');
    expect(text.endsWith(',"unknown":{"z":1,"a":2}}')).toBe(true);
    expect(text.startsWith('{"id":"c1","spec":{"ociVersion"')).toBe(true);
    // Encoding again is stable, and the tree itself is not reordered.
    expect(StateDocument.parse(text, "x").encode()).toBe(text);
    expect([...(d.get(["spec", "annotations"]) as JsonObject).keys()].slice(1, 3)).toEqual(["b", "a"]);
  });
});
