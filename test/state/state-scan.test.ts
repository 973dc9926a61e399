/**
 * The native scanner (native/state-scan.c) against load, on runsc's files
 * mutated at random (seeded, so a failure replays): wherever the scanner
 * answers, load accepts the file and gives the same fields and stat; where
 * load refuses a file, the scanner leaves it alone. The reliability corpus
 * is checked the same way in test/reliability/fast-paths.test.ts.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorruptStateError } from "../../src/errors.js";
import { Prng } from "../../src/generate/prng.js";
import { annotationsText } from "../../src/index/rows.js";
import { StateDocument } from "../../src/state/document.js";
import { readStateFile } from "../../src/state/state-files.js";
import { nativeScannerLoaded, type ScannedStateFile, scanStateFile } from "../../src/state/state-scan.js";
import { FIXTURE_STATE_NAMES, makeTempDir, readFixture, removeTempDirs } from "../helpers/roots.js";

let dir: string;

beforeAll(() => {
  dir = makeTempDir("state-scan");
});

afterAll(() => removeTempDirs());

/** What load makes of a file, in the scanner's terms; undefined when load refuses it. */
function loaded(file: string): ScannedStateFile | undefined {
  try {
    const read = readStateFile(file);
    if (read === undefined) return undefined;
    return { fields: StateDocument.parse(read.text, path.basename(file)).fields, info: read.info };
  } catch (e) {
    if (e instanceof CorruptStateError) return undefined;
    throw e;
  }
}

/** Comparable form: annotations as the index stores them (sorted, Go-encoded). */
function comparable(s: ScannedStateFile | undefined): unknown {
  return s && { ...s, fields: { ...s.fields, annotations: annotationsText(s.fields.annotations) } };
}

/** Bytes and text that the JSON grammar, UTF-8 or Go's key matching treat specially. */
const TOKENS = [
  '"',
  "\\",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "\t",
  "\u0000",
  "\u001f",
  "\u007f",
  "0",
  "-",
  ".",
  "e",
  "1.0",
  "-0",
  "null",
  "true",
  "tru",
  "\\u",
  "\\u00",
  "\\u0069",
  "\\ud800",
  "\\udc00",
  "\\ud83d\\ude00",
  "\\/",
  "\\x",
  "é",
  "\u0131",
  "\u017f",
  "\u212a",
  "\ufeff",
  "\u2028",
  "<&>",
];
const BYTES = [0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff];

/** Values to put in place of a field's: each type, and the spellings where readers could differ. */
const VALUES: (string | Buffer)[] = [
  "null",
  "1",
  "-1",
  "1.0",
  "1e2",
  "-0",
  "0",
  "9007199254740991",
  "9007199254740992",
  "12345678901234567",
  '"x"',
  '""',
  "{}",
  "[]",
  "true",
  '"running"',
  '"Running"',
  '"run\\u006eing"',
  '"\\u0041\\n\\"\\\\\\/"',
  '"\\ud800"',
  '"\\ud83d\\ude00"',
  '"\\ud83d\\u0041"',
  '"é\u0131"',
  '{"a":"b","a":"c"}',
  '{"__proto__":"p"}',
  '{"k":1}',
  '{"k":null}',
  '{"k":"\\u003c\\u0026"}',
  '"\\u0000"',
  '"\\udc00"',
  '"\\ud800\\ud800"',
  // Not UTF-8 (load reads U+FFFD, one per byte as Go does): cut short, overlong, a surrogate, a stray byte.
  ...['"a\xe2\x82b"', '"\xc0\xaf"', '"\xed\xa0\x80"', '"\xff"', '"\xf4\x90\x80\x80"'].map((v) =>
    Buffer.from(v, "latin1"),
  ),
];
/** Number spellings the grammar refuses (a scanner could let them pass) or that only look odd. */
const SPELLINGS = [
  "1.",
  "1.e5",
  "1e.5",
  ".5",
  "01",
  "-",
  "+1",
  "1e",
  "1e+",
  "-01",
  "0e0",
  "1E-2",
  "tRue",
  "nul",
  '"\\q"',
  '"\\u12"',
];
const KEYS = [
  "id",
  "status",
  "goferPid",
  "createdAt",
  "bundleDir",
  "owner",
  "sandbox",
  "spec",
  "pid",
  "podName",
  "namespace",
  "startTime",
  "controlSocketPath",
  "annotations",
];

function mutate(text: Buffer, prng: Prng): Buffer {
  let out = text;
  const times = 1 + prng.int(2);
  for (let k = 0; k < times; k++) {
    const at = prng.int(out.length + 1);
    const kind = prng.int(7);
    if (kind === 6)
      out = prng.chance(0.5)
        ? Buffer.concat([out, Buffer.from(prng.pick(TOKENS))])
        : splice(out, 0, 0, Buffer.from(prng.pick(TOKENS)));
    else if (kind === 0) out = splice(out, at, 1, Buffer.from([prng.chance(0.5) ? prng.pick(BYTES) : prng.int(256)]));
    else if (kind === 1) out = splice(out, at, 0, Buffer.from(prng.pick(TOKENS)));
    else if (kind === 2) out = splice(out, at, 1 + prng.int(8), Buffer.alloc(0));
    else out = mutateField(out, prng, kind);
  }
  return out;
}

/** mutateField changes one field's key (case, escape, a twin) or its value. */
function mutateField(text: Buffer, prng: Prng, kind: number): Buffer {
  const key = prng.pick(KEYS);
  const s = text.toString("latin1");
  const at = s.indexOf(`"${key}":`);
  if (at < 0) return text;
  const keyEnd = at + key.length + 3;
  if (kind === 3) {
    const spelled = prng.pick([key.toUpperCase(), key.replace(/i/, "\\u0069"), key.replace(/s/, "\u017f"), `${key}x`]);
    // Renamed, or a twin in that spelling beside the field.
    const twin = prng.chance(0.5) ? `"${key}":${prng.pick(["null", "1", '"x"', "{}"])},` : "";
    return splice(text, at, key.length + 2, Buffer.from(`${twin}"${spelled}"`));
  }
  if (kind === 4)
    return splice(text, keyEnd, 0, Buffer.concat([Buffer.from(prng.pick(VALUES)), Buffer.from(`,"${key}":`)]));
  return splice(text, keyEnd, valueLength(s, keyEnd), Buffer.from(prng.pick(VALUES)));
}

/** valueLength: the length of the JSON value at `at` (a string, a number or a whole object), roughly. */
function valueLength(s: string, at: number): number {
  if (s[at] === '"') return s.indexOf('"', at + 1) + 1 - at;
  if (s[at] !== "{") return /^[^,}\]]*/.exec(s.slice(at))![0].length;
  let depth = 0;
  for (let i = at; i < s.length; i++) {
    if (s[i] === "{") depth++;
    if (s[i] === "}" && --depth === 0) return i + 1 - at;
  }
  return 1;
}

function splice(b: Buffer, at: number, remove: number, insert: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), insert, b.subarray(at + remove)]);
}

describe("the native state-file scanner", () => {
  it("is built (npm ci builds it with node-gyp)", () => {
    expect(nativeScannerLoaded()).toBe(true);
  });

  it("reads runsc's own files as load does", () => {
    for (const name of FIXTURE_STATE_NAMES) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, readFixture(name));
      const scanned = scanStateFile(file);
      expect(scanned).toBeDefined();
      expect(comparable(scanned)).toEqual(comparable(loaded(file)));
    }
  });

  it("answers only where load accepts, and then with load's fields and stat, on 6,000 mutated files", () => {
    const prng = new Prng(20261201);
    const originals = FIXTURE_STATE_NAMES.map(readFixture);
    const disagreements: unknown[] = [];
    let answered = 0;
    let refusedByLoad = 0;
    for (let n = 0; n < 6_000; n++) {
      const text = mutate(prng.pick(originals), prng);
      const file = path.join(dir, `m${n}.state`);
      fs.writeFileSync(file, text);
      const fast = scanStateFile(file);
      const full = loaded(file);
      if (fast !== undefined) answered++;
      if (full === undefined) refusedByLoad++;
      if (fast !== undefined && JSON.stringify(comparable(fast)) !== JSON.stringify(comparable(full))) {
        disagreements.push({ n, text: text.toString("latin1").slice(0, 200), fast, full });
      }
      fs.rmSync(file);
    }
    expect(disagreements).toEqual([]);
    // Both sides are exercised: files the scanner reads, and files load refuses.
    expect(answered).toBeGreaterThan(1_000);
    expect(refusedByLoad).toBeGreaterThan(1_000);
  });

  it("gives load's answer for every field holding each kind of value, and beside a key that is no field", () => {
    const disagreements: unknown[] = [];
    let n = 0;
    for (const original of FIXTURE_STATE_NAMES.map(readFixture)) {
      const s = original.toString("latin1");
      for (const key of [...KEYS, "x"]) {
        const at = key === "x" ? 1 : s.indexOf(`"${key}":`) + key.length + 3;
        for (const value of [...VALUES, ...SPELLINGS]) {
          const text =
            key === "x"
              ? splice(original, at, 0, Buffer.concat([Buffer.from('"x":'), Buffer.from(value), Buffer.from(",")]))
              : splice(original, at, valueLength(s, at), Buffer.from(value));
          const file = path.join(dir, `v${n++}.state`);
          fs.writeFileSync(file, text);
          const fast = scanStateFile(file);
          if (fast !== undefined && JSON.stringify(comparable(fast)) !== JSON.stringify(comparable(loaded(file)))) {
            disagreements.push({
              key,
              value: value.toString(),
              fast: comparable(fast),
              full: comparable(loaded(file)),
            });
          }
          fs.rmSync(file);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("leaves what is not a regular file, or is gone, to the ordinary reader, without blocking", () => {
    const fifo = path.join(dir, "fifo.state");
    const link = path.join(dir, "link.state");
    fs.writeFileSync(path.join(dir, "target.state"), readFixture(FIXTURE_STATE_NAMES[0]!));
    fs.symlinkSync(path.join(dir, "target.state"), link);
    fs.mkdirSync(path.join(dir, "dir.state"));
    execFileSync("mkfifo", [fifo]);
    for (const name of ["fifo.state", "link.state", "dir.state", "missing.state"]) {
      expect({ name, scanned: scanStateFile(path.join(dir, name)) }).toEqual({ name, scanned: undefined });
    }
    expect(scanStateFile(path.join(dir, "target.state"))).toBeDefined();
  });
});
