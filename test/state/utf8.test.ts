import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StateDocument } from "../../src/index.js";
import { decodeUtf8AsGo } from "../../src/state/utf8.js";
import { stateText } from "../helpers/roots.js";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("utf8: decoding as Go's json.Unmarshal does", () => {
  it.each([
    [
      "a truncated 3-byte sequence: one U+FFFD per byte (WHATWG gives one for both)",
      bytes(0xe2, 0x82, 0x41),
      "\ufffd\ufffdA",
    ],
    ["an overlong NUL", bytes(0xc0, 0x80), "\ufffd\ufffd"],
    ["an encoded surrogate", bytes(0xed, 0xa0, 0x80), "\ufffd\ufffd\ufffd"],
    ["past U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), "\ufffd\ufffd\ufffd\ufffd"],
    ["a truncated emoji at the end", bytes(0x61, 0xf0, 0x9f, 0x98), "a\ufffd\ufffd\ufffd"],
    ["a stray continuation byte between valid text", bytes(0xc3, 0xa9, 0x80, 0xc3, 0xa9), "é\ufffdé"],
    ["bytes 0xF8-0xFF", bytes(0xf8, 0xff, 0x7a), "\ufffd\ufffdz"],
    ["a literal U+FFFD stays one", bytes(0xef, 0xbf, 0xbd), "\ufffd"],
    [
      "a byte-order mark is kept (the JSON parser then rejects it, as Go does)",
      bytes(0xef, 0xbb, 0xbf, 0x7b),
      "\ufeff{",
    ],
  ])("%s", (_what, input, expected) => {
    expect(decodeUtf8AsGo(input)).toBe(expected);
  });

  it("valid UTF-8 decodes to the same text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const valid = Buffer.from(s).toString("utf8"); // lone surrogates become U+FFFD first
        expect(decodeUtf8AsGo(Buffer.from(valid))).toBe(valid);
      }),
    );
  });

  it("an invalid byte between valid text is exactly one U+FFFD (property)", () => {
    const invalid = fc.oneof(
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.integer({ min: 0xf8, max: 0xff }),
      fc.constantFrom(0xc0, 0xc1),
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), invalid, fc.string({ unit: "grapheme" }), (a, bad, b) => {
        const input = Buffer.concat([Buffer.from(a), bytes(bad), Buffer.from(b)]);
        expect(decodeUtf8AsGo(input)).toBe(`${a}\ufffd${b}`);
      }),
    );
  });

  it("a state file with invalid UTF-8 in a value is read with U+FFFD; unchanged it saves its own bytes", () => {
    const text = stateText({ containerId: "c1" }).replace('"owner":""', '"owner":"a\u0001b"');
    const raw = Buffer.from(text.replace("\\u0001", "\u0001"));
    const at = raw.indexOf(0x01);
    raw[at] = 0xff; // the owner is now the bytes a, 0xFF, b
    const doc = StateDocument.parse(decodeUtf8AsGo(raw), "c1_sandbox:c1.state", raw);
    expect(doc.fields.owner).toBe("a\ufffdb");
    expect(doc.fileData()).toBe(raw);
    doc.set("goferPid", 1);
    const changed = doc.fileData();
    expect(typeof changed).toBe("string");
    expect(changed).toContain('"owner":"a\ufffdb"');
  });
});
