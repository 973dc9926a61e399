/**
 * annotationsText's shortcut for plain maps (printable ASCII with nothing
 * Go escapes) gives what the general path gives: Go's encoding of the map,
 * keys in UTF-8 byte order. The general path is built here from its parts.
 */
import { describe, expect, it } from "vitest";
import { Prng } from "../../src/generate/prng.js";
import { annotationsText, compareUtf8 } from "../../src/index/rows.js";
import { encodeGoJson } from "../../src/state/go-json.js";

function general(a: Record<string, string>): string {
  const keys = Object.keys(a).sort(compareUtf8);
  return encodeGoJson(new Map(keys.map((k) => [k, a[k]!])));
}

/** Characters around every edge of the plain set, and a few past ASCII. */
const ALPHABET = [..." !\"#%&'/:;<=>?@[\\]^_`az{|}~\u007f", "\u00e9", "\u2028", "\u{1f600}", "\n", "0", "9"];

function randomText(prng: Prng, plainOnly: boolean): string {
  const chars = plainOnly ? ALPHABET.filter((c) => /^[ -~]$/.test(c) && !'"\\<>&'.includes(c)) : ALPHABET;
  let s = "";
  for (let n = prng.int(6); n > 0; n--) s += chars[prng.int(chars.length)];
  return s;
}

describe("annotationsText", () => {
  it("gives the general encoding for plain and other maps alike", () => {
    const prng = new Prng(13);
    let plain = 0;
    for (let i = 0; i < 2_000; i++) {
      const a: Record<string, string> = Object.create(null);
      const plainOnly = i % 2 === 0;
      for (let n = prng.int(5); n > 0; n--) a[randomText(prng, plainOnly)] = randomText(prng, plainOnly);
      if (plainOnly) plain++;
      expect(annotationsText(a)).toBe(general(a));
    }
    expect(plain).toBe(1_000);
  });

  it("sorts numeric-looking keys as text, as Go sorts map keys", () => {
    const a: Record<string, string> = Object.create(null);
    Object.assign(a, { "10": "x", "9": "y", b: "z", "1": "w" });
    expect(annotationsText(a)).toBe('{"1":"w","10":"x","9":"y","b":"z"}');
  });
});
