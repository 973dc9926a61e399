/**
 * A strict RFC 8259 JSON parser into the lossless JsonValue tree of go-json.ts.
 *
 * JSON.parse cannot be used: it rounds integers beyond 2^53 and its objects
 * move integer-like keys first, so re-encoding would change a runsc file.
 */

import { JsonNumber, type JsonObject, type JsonValue } from "./go-json.js";

/** How deep arrays and objects may nest; bounds recursion on hostile input. */
const MAX_DEPTH = 512;

/** JsonSyntaxError says what is wrong with the text and at which UTF-16 offset. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  /** What went wrong, without the offset, e.g. "invalid character 'x'". */
  readonly reason: string;
  /** What the parser wanted at offset, when one thing fits, e.g. "','". */
  readonly expected: string | undefined;

  constructor(reason: string, offset: number, expected?: string) {
    super(`${reason} at offset ${offset}${expected === undefined ? "" : `, expected ${expected}`}`);
    this.name = "JsonSyntaxError";
    this.offset = offset;
    this.reason = reason;
    this.expected = expected;
  }
}

/**
 * decodeJson parses one JSON text. Numbers keep their source text, objects are
 * Maps in source order (a duplicate key keeps its first position and its last
 * value), and lone surrogate escapes are kept as code units.
 * Throws JsonSyntaxError on anything RFC 8259 rejects, or nesting beyond 512.
 */
export function decodeJson(text: string): JsonValue {
  const p = new Parser(text);
  p.skipWs();
  const v = p.value(0);
  p.skipWs();
  if (p.pos < text.length) throw p.invalid("after top-level value");
  return v;
}

/**
 * tooDeepAt: for text that JSON.parse accepted (which has no depth limit),
 * the offset of the first bracket nesting past MAX_DEPTH, where decodeJson
 * stops; undefined when within the limit. Texts with few brackets (every
 * runsc file) are passed after counting them with indexOf.
 */
export function tooDeepAt(text: string): number | undefined {
  if (countUpTo(text, "{", MAX_DEPTH + 1) + countUpTo(text, "[", MAX_DEPTH + 1) <= MAX_DEPTH) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

function countUpTo(text: string, ch: string, max: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && n < max; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** The reason decodeJson gives for nesting past MAX_DEPTH at `offset`. */
export function tooDeepMessage(offset: number): string {
  return new JsonSyntaxError(tooDeepReason(), offset).message;
}

function tooDeepReason(): string {
  return `nesting too deep (more than ${MAX_DEPTH} levels)`;
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class Parser {
  pos = 0;

  constructor(readonly text: string) {}

  skipWs(): void {
    const t = this.text;
    let i = this.pos;
    for (let c = t.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = t.charCodeAt(++i));
    this.pos = i;
  }

  value(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x22) return this.string();
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal("true", true);
    if (c === 0x66) return this.literal("false", false);
    if (c === 0x6e) return this.literal("null", null);
    throw this.invalid("", "value");
  }

  object(depth: number): JsonObject {
    this.checkDepth(depth);
    const map: JsonObject = new Map();
    this.pos++;
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return map;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) throw this.invalid("", "string key");
      const key = this.string();
      this.skipWs();
      this.expect(0x3a, "':'");
      this.skipWs();
      map.set(key, this.value(depth));
      this.skipWs();
      if (this.closeOrComma(0x7d, "',' or '}'")) return map;
    }
  }

  array(depth: number): JsonValue[] {
    this.checkDepth(depth);
    const arr: JsonValue[] = [];
    this.pos++;
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.skipWs();
      if (this.closeOrComma(0x5d, "',' or ']'")) return arr;
    }
  }

  /** closeOrComma consumes `close` (returns true) or a comma and the blanks after it (false). */
  private closeOrComma(close: number, expected: string): boolean {
    const c = this.text.charCodeAt(this.pos);
    if (c !== close && c !== 0x2c) throw this.invalid("", expected);
    this.pos++;
    if (c === close) return true;
    this.skipWs();
    return false;
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(tooDeepReason(), this.pos);
  }

  private expect(code: number, expected: string): void {
    if (this.text.charCodeAt(this.pos) !== code) throw this.invalid("", expected);
    this.pos++;
  }

  /** string parses a string starting at its opening quote; escape-free strings cost one slice. */
  string(): string {
    const t = this.text;
    const start = this.pos + 1;
    for (let i = start; ; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === 0x5c) return this.escapedString(start, i);
      // Negated so that NaN (past the end of the text) is caught by the same test.
      if (!(c >= 0x20)) this.badStringChar(i);
    }
  }

  /** escapedString continues string() from the first backslash at i. */
  private escapedString(start: number, i: number): string {
    const t = this.text;
    let out = t.slice(start, i);
    let chunk = i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out + t.slice(chunk, i);
      }
      if (c === 0x5c) {
        out += t.slice(chunk, i);
        i = this.escape(i + 1);
        out += this.escaped;
        chunk = i;
        continue;
      }
      if (!(c >= 0x20)) this.badStringChar(i);
      i++;
    }
  }

  /** The text of the last escape() call; avoids allocating a result pair per escape. */
  private escaped = "";

  /** escape decodes the escape whose letter is at i into this.escaped and returns the index after it. */
  private escape(i: number): number {
    const ch = this.text.charAt(i);
    if (ch === "u") {
      this.escaped = String.fromCharCode(this.hex4(i + 1));
      return i + 5;
    }
    const simple = ESCAPES[ch];
    if (simple === undefined) {
      this.pos = i;
      throw this.invalid("in string escape", 'one of "\\/bfnrtu');
    }
    this.escaped = simple;
    return i + 1;
  }

  private hex4(i: number): number {
    let n = 0;
    for (let k = i; k < i + 4; k++) {
      const d = hexDigit(this.text.charCodeAt(k));
      if (d < 0) {
        this.pos = k;
        throw this.invalid("in \\u escape", "hexadecimal digit");
      }
      n = n * 16 + d;
    }
    return n;
  }

  private badStringChar(i: number): never {
    this.pos = i;
    if (i >= this.text.length) throw this.invalid("", "'\"'");
    throw new JsonSyntaxError(`invalid control character ${showChar(this.text.charCodeAt(i))} in string`, i);
  }

  /** number scans -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? and keeps its text. */
  number(): JsonNumber {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (t.charCodeAt(i) === 0x2d) i++;
    if (t.charCodeAt(i) === 0x30) i++;
    else i = this.digits(i);
    if (t.charCodeAt(i) === 0x2e) i = this.digits(i + 1);
    const e = t.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = t.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      i = this.digits(i);
    }
    this.pos = i;
    return new JsonNumber(t.slice(start, i));
  }

  /** digits scans one or more decimal digits from i and returns the index after them. */
  private digits(i: number): number {
    const t = this.text;
    const first = i;
    for (let c = t.charCodeAt(i); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++i));
    if (i === first) {
      this.pos = i;
      throw this.invalid("in number", "digit");
    }
    return i;
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    const t = this.text;
    for (let k = 1; k < word.length; k++) {
      if (t.charCodeAt(this.pos + k) !== word.charCodeAt(k)) {
        this.pos += k;
        throw this.invalid(`in literal ${word}`, `'${word[k]}'`);
      }
    }
    this.pos += word.length;
    return v;
  }

  /** invalid builds the error for the character at pos, or for the end of input. */
  invalid(context: string, expected?: string): JsonSyntaxError {
    if (this.pos >= this.text.length) return new JsonSyntaxError("unexpected end of input", this.text.length, expected);
    const what = `invalid character ${showChar(this.text.charCodeAt(this.pos))}`;
    return new JsonSyntaxError(context === "" ? what : `${what} ${context}`, this.pos, expected);
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** showChar quotes printable ASCII ('x') and names anything else (U+000A), so messages stay one clean line. */
function showChar(c: number): string {
  if (c >= 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}
