/**
 * Go's rules for JSON object keys: how encoding/json matches a key to a
 * struct field, and the order json.Marshal writes a map's keys in.
 */
import type { JsonObject, JsonValue } from "./go-json.js";

/**
 * goFold is the key Go (>= 1.21) matches struct field names by: ToUpper of
 * each rune's simple case folding. Field names are ASCII, and against an
 * ASCII name JS's toUpperCase folds the same: besides ASCII letters only
 * U+017F long s (to S) and U+0131 dotless i (to I) reach ASCII, and it keeps
 * U+212A Kelvin sign, which Go folds to K. Compare keys of equal length only:
 * toUpperCase expands some runes (ß to SS) that Go keeps.
 */
export function goFold(key: string): string {
  const upper = key.toUpperCase();
  return upper.includes("\u212a") ? upper.replace(/\u212a/g, "K") : upper;
}

const foldedNames = new Map<string, string>();

/**
 * goField returns the value Go's json.Unmarshal stores in struct field
 * `name`: keys match it case-insensitively (goFold), and of several matching
 * keys the last one wins, as each decodes into the same field in turn.
 */
export function goField(obj: JsonObject, name: string): JsonValue | undefined {
  let folded = foldedNames.get(name);
  if (folded === undefined) {
    folded = goFold(name);
    foldedNames.set(name, folded);
  }
  let found: JsonValue | undefined;
  for (const [k, v] of obj) if (k === name || (k.length === name.length && goFold(k) === folded)) found = v;
  return found;
}

/**
 * compareGoStrings orders strings as Go compares their UTF-8 bytes: by code
 * point, a lone surrogate counting as U+FFFD (what Go decoded it to).
 */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (i < n && x < 0xd800 && y < 0xd800) return x - y;
  // Surrogates: compare whole code points, from the start of a pair cut in half.
  if (i > 0 && isHigh(a.charCodeAt(i - 1))) i--;
  const pa = goCodePoints(a.slice(i));
  const pb = goCodePoints(b.slice(i));
  for (let k = 0; k < Math.min(pa.length, pb.length); k++) if (pa[k] !== pb[k]) return pa[k]! - pb[k]!;
  return pa.length - pb.length;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** goCodePoints lists the code points of s as Go holds them: a lone surrogate is U+FFFD. */
function goCodePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  return out;
}
