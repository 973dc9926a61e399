/**
 * Property-based tests (fast-check) of the parts every bad input passes
 * through: the lossless JSON codec, state documents, and the file-name
 * parser. Each property is checked against an independent reference
 * (JSON.parse, a hand-written name check), not against the code itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isTempFileName,
  lockFileName,
  parseLockFileName,
  parseStateFileName,
  stateFileName,
  tempFileName,
} from "../../src/ids/file-names.js";
import { parseIdPair, parsePrefix } from "../../src/ids/id.js";
import { StateDocument } from "../../src/index.js";
import { decodeJson } from "../../src/state/codec.js";
import { encodeGoJson, JsonNumber, type JsonValue, toPlain } from "../../src/state/go-json.js";
import { stateObject } from "../helpers/roots.js";

const RUNS = { numRuns: 300 };

// --- generators ---

/** Keys that stress ordering and escaping: integer-like keys (JS objects move them first), HTML, U+2028, "". */
const keyArb = fc.oneof(
  fc.string(),
  fc.constantFrom("10", "2", "0", "-1", "__proto__", "constructor", "", "<a&b>", "\u2028", "é", "😀"),
  fc.nat().map(String),
);

const numberArb = fc.oneof(
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((b) => new JsonNumber(b.toString())),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => new JsonNumber(String(d))),
  fc.constantFrom("0", "-0", "1e5", "1E-7", "0.5", "18446744073709551615").map((t) => new JsonNumber(t)),
);

const { json: jsonArb } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.string({ unit: "binary" }),
    numberArb,
    fc.array(tie("json"), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(keyArb, tie("json")), { maxLength: 5, selector: ([k]) => k }).map((e) => new Map(e)),
  ),
}));

/** A lone surrogate anywhere: Go writes those as \ufffd, so such text is not expected to round trip exactly. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function accepts(parse: (t: string) => unknown, text: string): boolean {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

/** normalize makes a decoded tree comparable with JSON.parse's result: big integers as doubles. */
function normalize(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      Object.defineProperty(out, k, {
        value: normalize((v as Record<string, unknown>)[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** Near-JSON text: valid JSON with a few characters inserted, removed or replaced. */
const JSONISH = [
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  '"',
  "\\",
  "u",
  "0",
  "1",
  "-",
  ".",
  "e",
  "E",
  "+",
  " ",
  "\n",
  "\t",
  "t",
  "n",
  "f",
  "a",
  "\u0000",
  "\u001f",
  "é",
  "\ud800",
];
const mutatedJsonArb = fc
  .tuple(
    fc.json({ maxDepth: 3 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.constantFrom(...JSONISH)), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([text, edits]) => {
    let t = text;
    for (const [at, op, ch] of edits) {
      const i = t.length === 0 ? 0 : at % (t.length + (op === "insert" ? 1 : 0));
      if (op === "insert") t = t.slice(0, i) + ch + t.slice(i);
      else if (op === "delete") t = t.slice(0, i) + t.slice(i + 1);
      else t = t.slice(0, i) + ch + t.slice(i + 1);
    }
    return t;
  });

describe("properties: codec", () => {
  it("encode, decode, encode gives the same text for any generated tree", () => {
    fc.assert(
      fc.property(jsonArb, (v) => {
        const text = encodeGoJson(v);
        expect(encodeGoJson(decodeJson(text))).toBe(text);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(text).not.toMatch(/[<>&\u2028\u2029]/);
      }),
      RUNS,
    );
  });

  it("decode keeps every key in source order, integer-like keys included", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(
            keyArb.filter((k) => !LONE_SURROGATE.test(k)),
            fc.integer(),
          ),
          {
            selector: ([k]) => k,
          },
        ),
        (entries) => {
          const text = encodeGoJson(new Map(entries.map(([k, n]) => [k, new JsonNumber(String(n))])));
          const decoded = decodeJson(text) as Map<string, JsonValue>;
          expect([...decoded.keys()]).toEqual(entries.map(([k]) => k));
        },
      ),
      RUNS,
    );
  });

  it("integers of any size keep every digit", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), (b) => {
        const text = `{"n":${b}}`;
        expect(encodeGoJson(decodeJson(text))).toBe(text);
        expect(((decodeJson(text) as Map<string, JsonNumber>).get("n") as JsonNumber).toBigInt()).toBe(b);
      }),
      RUNS,
    );
  });

  it("decodeJson accepts exactly what JSON.parse accepts, and means the same, on valid JSON", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        expect(accepts(decodeJson, text)).toBe(true);
        expect(normalize(toPlain(decodeJson(text)))).toEqual(normalize(JSON.parse(text)));
      }),
      RUNS,
    );
  });

  it("decodeJson accepts exactly what JSON.parse accepts on mutated JSON", () => {
    fc.assert(
      fc.property(mutatedJsonArb, (text) => {
        expect({ text, accepted: accepts(decodeJson, text) }).toEqual({ text, accepted: accepts(JSON.parse, text) });
      }),
      { numRuns: 2_000 },
    );
  });

  it("decodeJson accepts exactly what JSON.parse accepts on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...JSONISH) })), (text) => {
        expect({ text, accepted: accepts(decodeJson, text) }).toEqual({ text, accepted: accepts(JSON.parse, text) });
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("properties: state documents", () => {
  const plainKey = (k: string) => !LONE_SURROGATE.test(k);
  const annotationsArb = fc.dictionary(keyArb.filter(plainKey), fc.string(), { maxKeys: 8 });
  const extraArb = fc.dictionary(
    // Object.assign below would set the prototype for "__proto__" instead of adding the key.
    fc
      .string({ minLength: 1 })
      .filter((k) => plainKey(k) && k !== "__proto__" && !(k in stateObject({ containerId: "x" }))),
    fc.json().map((t) => JSON.parse(t) as unknown),
    { maxKeys: 4 },
  );
  const statusArb = fc.oneof(
    fc.constantFrom("created", "running", "paused", "stopped", "creating"),
    fc.integer({ min: 0, max: 4 }),
  );

  it("a Go-encoded document parses and encodes back byte for byte, keeping status encoding and annotations", () => {
    fc.assert(
      fc.property(annotationsArb, extraArb, statusArb, (annotations, extra, status) => {
        const obj = stateObject({ containerId: "prop", status, edit: (d) => Object.assign(d, extra) });
        obj.spec.annotations = annotations;
        const text = StateDocument.from(obj).encode(); // Go's form: annotations sorted

        const doc = StateDocument.parse(text, "prop");
        expect(doc.encode()).toBe(text);
        expect(doc.fields.annotations).toEqual(annotations);
        expect(doc.fields.statusEncoding).toBe(typeof status === "number" ? "legacy-int" : "string");
        // A change of status keeps every other byte and the encoding.
        doc.status = "paused";
        const again = StateDocument.parse(doc.encode(), "prop");
        expect(again.status).toBe("paused");
        expect(again.fields.statusEncoding).toBe(doc.fields.statusEncoding);
        expect(again.fields.annotations).toEqual(annotations);
      }),
      { numRuns: 100 },
    );
  });

  it('an annotation named "__proto__" is kept in the typed fields like any other', () => {
    const obj = stateObject({ containerId: "proto" });
    obj.spec.annotations = JSON.parse('{"__proto__":"x","a":"b"}');
    const doc = StateDocument.parse(encodeGoJson(StateDocument.from(obj).root), "proto");
    expect(Object.keys(doc.fields.annotations)).toEqual(["__proto__", "a"]);
  });
});

// --- file names ---

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-";

/** referenceIds is an independent reading of the naming rule: `<cid>_sandbox:<sid><suffix>`, IDs in runsc's alphabet. */
function referenceIds(name: string, suffix: string): { containerId: string; sandboxId: string } | undefined {
  if (!name.endsWith(suffix) || Buffer.byteLength(name.slice(0, -suffix.length) + ".state") > 255) return undefined;
  const body = name.slice(0, -suffix.length);
  const colon = body.indexOf(":");
  // IDs never contain ":", so a valid name has exactly one, the one in "_sandbox:".
  if (colon < 0 || body.indexOf(":", colon + 1) >= 0 || !body.slice(0, colon + 1).endsWith("_sandbox:"))
    return undefined;
  const containerId = body.slice(0, colon - "_sandbox".length);
  const sandboxId = body.slice(colon + 1);
  const validId = (id: string) => id !== "" && id !== "." && id !== ".." && [...id].every((c) => ID_CHARS.includes(c));
  return validId(containerId) && validId(sandboxId) ? { containerId, sandboxId } : undefined;
}

const idArb = fc
  .string({ unit: fc.constantFrom(...ID_CHARS, "_sandbox", "."), minLength: 1, maxLength: 40 })
  .filter((s) => s !== "." && s !== "..");
const FRAGMENTS = [
  "a",
  "Z",
  "9",
  "_",
  "+",
  ".",
  "-",
  ":",
  "_sandbox:",
  "_sandbox",
  ".state",
  ".lock",
  "/",
  "\0",
  "\n",
  " ",
  "é",
  "😀",
  "%",
  "*",
  "..",
];
const nameArb = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength: 12 }),
  fc.tuple(idArb, idArb).map(([c, s]) => `${c}_sandbox:${s}.state`),
  fc
    .tuple(idArb, fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength: 4 }), idArb)
    .map(([c, x, s]) => `${c}${x}_sandbox:${s}.state`),
);

describe("properties: file names", () => {
  it("every valid ID pair round-trips through stateFileName and lockFileName", () => {
    fc.assert(
      fc.property(idArb, idArb, (c, s) => {
        fc.pre(c.length + s.length + "_sandbox:.state".length <= 255);
        const ids = parseIdPair(c, s);
        expect(parseStateFileName(stateFileName(ids.containerId, ids.sandboxId))).toEqual({
          containerId: c,
          sandboxId: s,
        });
        expect(parseLockFileName(lockFileName(ids.containerId, ids.sandboxId))).toEqual({
          containerId: c,
          sandboxId: s,
        });
        expect(parseStateFileName(lockFileName(ids.containerId, ids.sandboxId))).toBeUndefined();
      }),
      { numRuns: 1_000 },
    );
  });

  it("a name parses as a state file exactly when the reference rule says so, with the same IDs", () => {
    fc.assert(
      fc.property(nameArb, (name) => {
        expect({ name, ids: parseStateFileName(name) }).toEqual({ name, ids: referenceIds(name, ".state") });
        expect({ name, ids: parseLockFileName(name) }).toEqual({ name, ids: referenceIds(name, ".lock") });
      }),
      { numRuns: 3_000 },
    );
  });

  it("temporary file names never parse as state or lock files", () => {
    fc.assert(
      fc.property(idArb, idArb, (c, s) => {
        fc.pre(c.length + s.length + "_sandbox:.state".length <= 255);
        const ids = parseIdPair(c, s);
        const temp = tempFileName(ids.containerId, ids.sandboxId);
        expect(isTempFileName(temp)).toBe(true);
        expect(parseStateFileName(temp)).toBeUndefined();
        expect(parseLockFileName(temp)).toBeUndefined();
        expect(Buffer.byteLength(temp)).toBeLessThanOrEqual(255);
      }),
      RUNS,
    );
  });

  it("parsePrefix accepts exactly the strings made of ID characters, never a path or pattern character", () => {
    const longArb = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 230, maxLength: 250 });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...FRAGMENTS) }), longArb), (p) => {
        const ok = accepts(parsePrefix, p);
        // The longest prefix that can still name a container: a 1-character sandbox ID fills the 255 bytes.
        const fits = p.length <= 255 - "_sandbox:".length - 1 - ".state".length;
        const expected = p !== "" && p !== "." && p !== ".." && fits && [...p].every((c) => ID_CHARS.includes(c));
        expect({ p, ok }).toEqual({ p, ok: expected });
      }),
      { numRuns: 2_000 },
    );
  });
});
