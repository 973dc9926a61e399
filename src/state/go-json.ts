/**
 * The JSON value tree used for state files, and Go's encoding/json output.
 *
 * The tree is lossless for what runsc writes: numbers keep their source text
 * (int64/uint64 values beyond 2^53 keep every digit) and objects are Maps, so
 * key order survives even for integer-like keys that plain JS objects reorder.
 */

const INTEGER_TEXT = /^-?\d+$/;

/** JsonNumber is a JSON number kept as its exact source text. */
export class JsonNumber {
  /**
   * raw is the number's JSON text. inexact marks one made from a JS number
   * past 2^53, whose digits are not the integer the caller meant; an integer
   * field of a state file refuses it (use a bigint).
   */
  constructor(
    readonly raw: string,
    readonly inexact = false,
  ) {}

  /** toNumber returns the nearest double; precision beyond 2^53 is lost. */
  toNumber(): number {
    return Number(this.raw);
  }

  /** toBigInt returns the exact integer. Throws RangeError when raw is not integer text (e.g. "1.5", "1e3"). */
  toBigInt(): bigint {
    if (!INTEGER_TEXT.test(this.raw)) throw new RangeError(`json number ${this.raw} is not an integer`);
    return BigInt(this.raw);
  }

  /** isSafeInteger reports whether raw is integer text that a number holds exactly. */
  isSafeInteger(): boolean {
    return INTEGER_TEXT.test(this.raw) && Number.isSafeInteger(Number(this.raw));
  }

  toString(): string {
    return this.raw;
  }
}

export type JsonObject = Map<string, JsonValue>;
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

// Everything Go's encodeState.string escapes (with escapeHTML on, as json.Marshal
// uses), plus all surrogates: a valid pair passes through, a lone one is what
// invalid UTF-8 became and Go writes it as \ufffd.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX = "0123456789abcdef";

/** encodeGoString quotes s exactly as Go >= 1.22 encoding/json.Marshal does. */
export function encodeGoString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (isPairAt(s, i, c)) {
        i++; // both halves are copied verbatim with the next slice
        continue;
      }
      esc = "\\ufffd";
    } else {
      esc = escapeFor(c);
      if (esc === undefined) continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

function isPairAt(s: string, i: number, c: number): boolean {
  if (c > 0xdbff) return false;
  const next = s.charCodeAt(i + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}

/** escapeFor returns Go's escape for one BMP non-surrogate code unit, or undefined to copy it. */
function escapeFor(c: number): string | undefined {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x2028:
      return "\\u2028";
    case 0x2029:
      return "\\u2029";
  }
  if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
    return `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
  }
  return undefined;
}

/** encodeGoJson returns the compact encoding of v, keys in Map order, numbers as their raw text. */
export function encodeGoJson(v: JsonValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return encodeGoString(v);
  if (v instanceof JsonNumber) return v.raw;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return encodeArray(v);
  if (v instanceof Map) return encodeObject(v);
  throw new TypeError(`cannot encode ${describe(v)} as json`);
}

function encodeArray(a: JsonValue[]): string {
  if (a.length === 0) return "[]";
  let out = `[${encodeGoJson(a[0] as JsonValue)}`;
  for (let i = 1; i < a.length; i++) out += `,${encodeGoJson(a[i] as JsonValue)}`;
  return `${out}]`;
}

function encodeObject(m: JsonObject): string {
  let out = "{";
  for (const [k, val] of m) {
    if (out.length > 1) out += ",";
    out += `${encodeGoString(k)}:${encodeGoJson(val)}`;
  }
  return `${out}}`;
}

/**
 * encodeGoJsonIndent matches Go's json.MarshalIndent(v, "", indent): one
 * element per line, `"key": value`, `{}` and `[]` for empty containers, no
 * trailing newline.
 */
export function encodeGoJsonIndent(v: JsonValue, indent = "  "): string {
  return indentValue(v, indent, "\n");
}

function indentValue(v: JsonValue, indent: string, nl: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    const inner = nl + indent;
    return `[${inner}${v.map((x) => indentValue(x, indent, inner)).join(`,${inner}`)}${nl}]`;
  }
  if (v instanceof Map) {
    if (v.size === 0) return "{}";
    const inner = nl + indent;
    const parts: string[] = [];
    for (const [k, val] of v) parts.push(`${encodeGoString(k)}: ${indentValue(val, indent, inner)}`);
    return `{${inner}${parts.join(`,${inner}`)}${nl}}`;
  }
  return encodeGoJson(v);
}

/**
 * fromPlain converts a plain JS value to a JsonValue: finite numbers, bigints,
 * strings, booleans, null, arrays, plain objects (Object.keys order), Maps with
 * string keys, and JsonNumbers. Object and Map entries whose value is undefined
 * are dropped. Throws TypeError naming the path ("$.a[0]") of anything else:
 * NaN, Infinity, functions, symbols, undefined elsewhere, class instances, cycles.
 */
export function fromPlain(v: unknown): JsonValue {
  return convert(v, "$", new Set());
}

function convert(v: unknown, path: string, ancestors: Set<object>): JsonValue {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`fromPlain: ${v} at ${path} has no json form`);
      // Past 2^53 a JS number is not the integer it was written as (String()
      // prints 2**64 as 18446744073709552000): marked, so an integer field refuses it.
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return new JsonNumber(String(v), true);
      // String(n) never uses an exponent below 1e21 and matches Go's float
      // formatting ('e' only for |n| < 1e-6 or >= 1e21) above it.
      return new JsonNumber(String(v));
    case "bigint":
      return new JsonNumber(v.toString());
    case "object":
      if (v === null) return null;
      if (v instanceof JsonNumber) return v;
      return convertContainer(v, path, ancestors);
  }
  throw new TypeError(`fromPlain: unsupported ${describe(v)} at ${path}`);
}

function convertContainer(v: object, path: string, ancestors: Set<object>): JsonValue {
  if (ancestors.has(v)) throw new TypeError(`fromPlain: circular reference at ${path}`);
  ancestors.add(v);
  try {
    if (Array.isArray(v)) return v.map((x, i) => convert(x, `${path}[${i}]`, ancestors));
    if (v instanceof Map) return convertEntries(v.entries(), path, ancestors);
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`fromPlain: unsupported ${describe(v)} at ${path}`);
    }
    return convertEntries(
      Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]]),
      path,
      ancestors,
    );
  } finally {
    ancestors.delete(v);
  }
}

function convertEntries(entries: Iterable<[unknown, unknown]>, path: string, ancestors: Set<object>): JsonObject {
  const out: JsonObject = new Map();
  for (const [k, val] of entries) {
    if (typeof k !== "string") throw new TypeError(`fromPlain: map key ${describe(k)} at ${path} is not a string`);
    if (val === undefined) continue;
    out.set(k, convert(val, childPath(path, k), ancestors));
  }
  return out;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describe(v: unknown): string {
  if (typeof v === "function") return "function";
  if (typeof v === "symbol") return "symbol";
  if (typeof v === "object" && v !== null) return `object ${v.constructor?.name ?? "Object"}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * toPlain converts a JsonValue to plain JS for display: integers become numbers
 * when safe and bigints otherwise, other numbers become numbers, Maps become
 * plain objects (which move integer-like keys first; fine for display, not for
 * writing back).
 */
export function toPlain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return v.isSafeInteger() || !INTEGER_TEXT.test(v.raw) ? v.toNumber() : v.toBigInt();
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of v) {
      // Assigning "__proto__" would set the prototype instead of adding a key.
      if (k === "__proto__")
        Object.defineProperty(out, k, { value: toPlain(val), enumerable: true, writable: true, configurable: true });
      else out[k] = toPlain(val);
    }
    return out;
  }
  return v;
}
