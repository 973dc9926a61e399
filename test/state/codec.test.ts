import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeJson, JsonSyntaxError } from "../../src/state/codec.js";
import {
  encodeGoJson,
  encodeGoJsonIndent,
  encodeGoString,
  fromPlain,
  JsonNumber,
  type JsonObject,
  toPlain,
} from "../../src/state/go-json.js";

// Resolved relative to the repo, because CI clones it beside its own copy of shared/.
const FIXTURES = new URL("../fixtures/runsc/", import.meta.url);
const fixtureNames = readdirSync(FIXTURES).filter((n) => n.endsWith(".state"));
const readFixture = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8");

function decodeObject(text: string): JsonObject {
  const v = decodeJson(text);
  if (!(v instanceof Map)) throw new Error("expected an object");
  return v;
}

function syntaxError(text: string): JsonSyntaxError {
  try {
    decodeJson(text);
  } catch (err) {
    expect(err).toBeInstanceOf(JsonSyntaxError);
    const e = err as JsonSyntaxError;
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(text.length);
    expect(e.message).toContain(`at offset ${e.offset}`);
    return e;
  }
  throw new Error(`decodeJson accepted ${JSON.stringify(text.slice(0, 80))}`);
}

/** Replaces each lone surrogate with U+FFFD, as Go's encoder does with invalid UTF-8. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

function wellFormedDeep(v: unknown): unknown {
  if (typeof v === "string") return wellFormed(v);
  if (Array.isArray(v)) return v.map(wellFormedDeep);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), wellFormedDeep(x)]));
}

describe("codec: runsc fixtures", () => {
  it("finds both fixtures", () => {
    expect(fixtureNames).toHaveLength(2);
  });

  it.each(fixtureNames)("decode then encode is byte-identical: %s", (name) => {
    const text = readFixture(name);
    expect(encodeGoJson(decodeJson(text))).toBe(text);
  });

  it("changing one field keeps every other byte", () => {
    const text = readFixture(fixtureNames[0] as string);
    const doc = decodeObject(text);
    const old = doc.get("status");
    doc.set("status", "paused");
    expect(encodeGoJson(doc)).toBe(text.replace(`"status":${encodeGoString(old as string)}`, '"status":"paused"'));
  });

  it("truncated at 50 lengths, every cut throws", () => {
    const text = readFixture(fixtureNames[0] as string);
    for (let i = 0; i < 50; i++) {
      const cut = Math.floor((i * text.length) / 50);
      syntaxError(text.slice(0, cut));
    }
    syntaxError(text.slice(0, -1));
  });
});

describe("codec: numbers", () => {
  const BIG = ["9223372036854775807", "-9223372036854775808", "18446744073709551615", "9007199254740993"];

  it("big integers keep every digit through decode, edit, encode", () => {
    const text = `{"a":${BIG[0]},"b":[${BIG.slice(1).join(",")}],"status":"created"}`;
    const doc = decodeObject(text);
    doc.set("status", "running");
    expect(encodeGoJson(doc)).toBe(text.replace("created", "running"));
    const b = doc.get("b") as JsonNumber[];
    expect(b.map((n) => n.toBigInt())).toEqual(BIG.slice(1).map(BigInt));
  });

  it("JsonNumber converts safely", () => {
    expect(new JsonNumber("9007199254740993").isSafeInteger()).toBe(false);
    expect(new JsonNumber("-42").isSafeInteger()).toBe(true);
    expect(new JsonNumber("1.5").isSafeInteger()).toBe(false);
    expect(new JsonNumber("1.5").toNumber()).toBe(1.5);
    expect(() => new JsonNumber("1.5").toBigInt()).toThrow(RangeError);
    expect(toPlain(decodeJson(`[1,1.5,${BIG[2]}]`))).toEqual([1, 1.5, 18446744073709551615n]);
  });

  it("number text is kept verbatim", () => {
    const text = "[0,-0,1.50,1e3,1E+3,-2.5e-7,123456789012345678901234567890]";
    expect(encodeGoJson(decodeJson(text))).toBe(text);
  });

  it("fromPlain writes numbers and bigints like Go", () => {
    expect(encodeGoJson(fromPlain([1, -2, 0.5, 1e20, 1e21, 1e-7, 2n ** 64n - 1n]))).toBe(
      "[1,-2,0.5,100000000000000000000,1e+21,1e-7,18446744073709551615]",
    );
  });
});

describe("codec: key order", () => {
  it("integer-like keys keep their order", () => {
    const text = '{"10":1,"2":2,"b":3,"1":{"9":null,"0":true}}';
    const doc = decodeObject(text);
    expect([...doc.keys()]).toEqual(["10", "2", "b", "1"]);
    expect(encodeGoJson(doc)).toBe(text);
  });

  it("a duplicate key keeps its first position and its last value", () => {
    expect(encodeGoJson(decodeJson('{"a":1,"b":2,"a":3}'))).toBe('{"a":3,"b":2}');
  });

  it("__proto__ is an ordinary key both ways", () => {
    const doc = decodeObject('{"__proto__":{"x":1}}');
    const plain = toPlain(doc) as Record<string, unknown>;
    expect(Object.keys(plain)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(encodeGoJson(fromPlain(plain))).toBe('{"__proto__":{"x":1}}');
  });
});

describe("codec: Go string escaping", () => {
  it.each([
    ["<a href='x'>&</a>", "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""],
    ["line\u2028para\u2029", '"line\\u2028para\\u2029"'],
    ["\u0000\u0001\u001f\u007f", '"\\u0000\\u0001\\u001f\u007f"'],
    ["\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["C:\\dir", '"C:\\\\dir"'],
    ["/path", '"/path"'],
    ["\u001b[0m", '"\\u001b[0m"'],
    ["héllo ✓ 😀", '"héllo ✓ 😀"'],
    ["a\ud800b", '"a\\ufffdb"'],
    ["\udc00\ud83d", '"\\ufffd\\ufffd"'],
    ["", '""'],
  ])("encodeGoString(%j)", (input, expected) => {
    expect(encodeGoString(input)).toBe(expected);
  });

  it("escapes keys too", () => {
    expect(encodeGoJson(new Map([["a<b", "&"]]))).toBe('{"a\\u003cb":"\\u0026"}');
  });

  it("decodes every escape and keeps lone surrogate escapes", () => {
    const v = decodeJson('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9\\ud83d\\ude00\\ud800x"');
    expect(v).toBe('"\\/\b\f\n\r\té\u00e9😀\ud800x');
  });
});

describe("codec: encodeGoJsonIndent", () => {
  it("matches Go json.MarshalIndent", () => {
    const v = decodeJson('{"a":1,"b":{"c":[1,2]},"d":{},"e":[]}');
    expect(encodeGoJsonIndent(v)).toBe(
      '{\n  "a": 1,\n  "b": {\n    "c": [\n      1,\n      2\n    ]\n  },\n  "d": {},\n  "e": []\n}',
    );
  });

  it("takes another indent and escapes like Marshal", () => {
    expect(encodeGoJsonIndent(decodeJson('[{"<":"&"}]'), "\t")).toBe('[\n\t{\n\t\t"\\u003c": "\\u0026"\n\t}\n]');
    expect(encodeGoJsonIndent(null)).toBe("null");
  });
});

describe("codec: fromPlain", () => {
  it("keeps Object.keys order and drops undefined", () => {
    expect(encodeGoJson(fromPlain({ b: 1, a: [true, null, "x"], u: undefined, m: new Map([["z", 1n]]) }))).toBe(
      '{"b":1,"a":[true,null,"x"],"m":{"z":1}}',
    );
  });

  it.each([
    [{ a: [1, Number.NaN] }, "$.a[1]"],
    [{ "x y": Number.POSITIVE_INFINITY }, '$["x y"]'],
    [{ f: () => 1 }, "$.f"],
    [[Symbol("s")], "$[0]"],
    [[undefined], "$[0]"],
    [{ d: new Date(0) }, "$.d"],
    [new Map([[1, 2]]), "$"],
  ])("rejects %o naming the path", (input, path) => {
    expect(() => fromPlain(input)).toThrow(TypeError);
    expect(() => fromPlain(input)).toThrow(path);
  });

  it("rejects cycles", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => fromPlain(a)).toThrow(/circular reference at \$\[0\]/);
  });
});

describe("codec: malformed input", () => {
  it.each([
    ["", 0],
    [" \n\t\r ", 5],
    ["{} x", 3],
    ["[1] [2]", 4],
    ['{"a":1,}', 7],
    ["[1,]", 3],
    ["01", 1],
    ["-", 1],
    ["-x", 1],
    ["1.", 2],
    [".5", 0],
    ["1e", 2],
    ["1e+", 3],
    ['"\\x"', 2],
    ['"\\u12"', 5],
    ['"\\u12g4"', 5],
    ['"a\nb"', 2],
    ['"a\u0000"', 2],
    ['"abc', 4],
    ['"abc\\', 5],
    ["NaN", 0],
    ["Infinity", 0],
    ["tru", 3],
    ["nul!", 3],
    ["{'a':1}", 1],
    ['{"a" 1}', 5],
    ['{"a":1 "b":2}', 7],
    ["[1 2]", 3],
    ["\ufeff{}", 0],
    ["\u00a0{}", 0],
    ["/* c */ {}", 0],
  ])("%j throws at offset %i", (text, offset) => {
    expect(syntaxError(text).offset).toBe(offset);
  });

  it("names the character and what was expected", () => {
    expect(syntaxError('{"a":1 x').message).toBe("invalid character 'x' at offset 7, expected ',' or '}'");
    expect(syntaxError("[1,").message).toBe("unexpected end of input at offset 3, expected value");
    expect(syntaxError('"\n"').message).toBe("invalid control character U+000A in string at offset 1");
  });

  it("rejects 10000 nested arrays without overflowing the stack", () => {
    expect(syntaxError("[".repeat(10000)).reason).toMatch(/^nesting too deep/);
    expect(syntaxError(`${"[".repeat(513)}${"]".repeat(513)}`).offset).toBe(512);
  });

  it("accepts nesting up to 512", () => {
    const text = `${"[".repeat(512)}${"]".repeat(512)}`;
    expect(encodeGoJson(decodeJson(text))).toBe(text);
  });
});

// JSON values with bigints and strings from the whole code point range.
const { value: jsonArb } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    fc.string({ unit: "binary" }),
    fc.array(tie("value")),
    fc.dictionary(fc.string({ unit: "binary" }), tie("value")),
  ),
}));

// Characters around every special case of the grammar and of Go's escaping.
// The lone surrogates are listed apart so that they never pair up in the list itself.
const trickyChar = fc.constantFrom(
  ...'{}[],:"\\/ \t\n\r0123456789-+.eEtrufalsnxu<>&\u0000\u001f\u2028\u2029é😀',
  "\ud800",
  "\udc00",
);

// Valid JSON with one character inserted or replaced: mostly near-misses of the grammar.
const nearJson = fc.tuple(fc.json(), fc.nat(), trickyChar, fc.boolean()).map(([text, at, ch, replace]) => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + ch + text.slice(replace ? i + 1 : i);
});

describe("codec: properties", () => {
  it("decode(encode(fromPlain(v))) re-encodes to the same text", () => {
    fc.assert(
      fc.property(jsonArb, (v) => {
        const text = encodeGoJson(fromPlain(v));
        expect(encodeGoJson(decodeJson(text))).toBe(text);
      }),
    );
  });

  it("encodeGoJson(fromPlain(v)) means what JSON.stringify(v) means", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(encodeGoJson(fromPlain(v)))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it("decodeJson accepts and rejects exactly what JSON.parse does", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), nearJson, fc.string({ unit: trickyChar, maxLength: 12 })), (text) => {
        let expected: unknown;
        try {
          expected = JSON.parse(text);
        } catch {
          syntaxError(text);
          return;
        }
        // The encoder, like Go, writes lone surrogates from the input as U+FFFD.
        expect(JSON.parse(encodeGoJson(decodeJson(text)))).toEqual(wellFormedDeep(expected));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ["default", fc.string()],
    ["binary", fc.string({ unit: "binary" })],
    ["grapheme", fc.string({ unit: "grapheme" })],
    ["tricky", fc.string({ unit: trickyChar })],
  ])("encodeGoString round-trips well-formed %s strings", (_name, arb) => {
    fc.assert(
      fc.property(arb, (raw) => {
        const s = wellFormed(raw);
        const quoted = encodeGoString(s);
        expect(decodeJson(quoted)).toBe(s);
        expect(JSON.parse(quoted)).toBe(s);
      }),
    );
  });

  it("encodeGoString turns each lone surrogate into U+FFFD", () => {
    const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff })).map((a) => String.fromCharCode(...a));
    fc.assert(
      fc.property(codeUnits, (s) => {
        expect(decodeJson(encodeGoString(s))).toBe(wellFormed(s));
      }),
    );
  });
});
