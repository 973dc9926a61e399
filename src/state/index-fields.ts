/**
 * indexFields: the typed fields of a state file for the index, through V8's
 * native JSON.parse, about twice as fast as the lossless decoder. The index
 * needs no round trip, only validity (a torn write must not parse) and the
 * fields. The parsed value is projected onto the lossless tree's shape so
 * the same readFields applies the same rules and words the same errors.
 * Keys match field names as Go matches them (goFold, the last match
 * winning), as readFields does on the lossless tree.
 *
 * What JSON.parse reads differently from load (and Go): an integer field
 * spelled `1.0` or `1e2` is an integer to JSON.parse only. So a file whose
 * text may hold such a spelling of `pid` or `goferPid` (any such key, or a
 * key with an escaped letter, which could be one in disguise) is read by
 * load's lossless decoder instead: the verdict and the fields are load's on
 * every file (test/reliability/fast-paths.test.ts). runsc never writes
 * either; looking costs a regex and an indexOf scan per file.
 *
 * Most files skip the projection: when every field's key is spelled exactly
 * and its value is of a type readFields accepts, directFields reads the
 * parsed value as is, checking the spelling of `pid` and `goferPid` where
 * those keys stand in the text instead of the regex. A legacy integer `status` goes to load (JSON.parse
 * reads `3.0` as 3, load refuses it). Anything else takes the projection,
 * which words readFields' errors. With the regex gone, indexFields went
 * from ~37 to ~28 µs a runsc file (JSON.parse itself ~21).
 */
import { CorruptStateError } from "../errors.js";
import { tooDeepAt, tooDeepMessage } from "./codec.js";
import { StateDocument } from "./document.js";
import { type ContainerFields, FieldError, readFields } from "./fields.js";
import { JsonNumber, type JsonValue } from "./go-json.js";
import { goFold } from "./go-keys.js";
import { isStatus } from "./status.js";

const ROOT_KEYS = ["id", "status", "goferPid", "createdAt", "bundleDir", "owner", "sandbox", "spec"];
const SANDBOX_KEYS = ["id", "pid", "podName", "namespace", "startTime", "controlSocketPath"];

/**
 * A key ending in `pid` as Go matches it (goFold: any letter case, and U+0131
 * dotless i for i; nothing else folds onto these letters), so `pid` and
 * `goferPid` among others, followed by a number with a fraction or an
 * exponent. One case-blind regex, not a lowercased copy of each file; it
 * starts at the `p`, rarer than a quote.
 */
const FLOAT_PID = /p[i\u0131]d"[ \t\n\r]*:[ \t\n\r]*-?[0-9]+[.eE]/i;

/** mayReadOtherwise: whether JSON.parse may read the text differently from load (see above). */
function mayReadOtherwise(text: string): boolean {
  return FLOAT_PID.test(text) || escapesLetter(text);
}

/** escapesLetter: whether some `\u00XX` escape spells an ASCII letter (0x40-0x7f, a superset). */
function escapesLetter(text: string): boolean {
  for (let at = text.indexOf("\\u00"); at >= 0; at = text.indexOf("\\u00", at + 1)) {
    const c = text.charCodeAt(at + 4);
    if (c >= 0x34 && c <= 0x37) return true; // "4"-"7"
  }
  return false;
}

/** indexFields returns the file's index fields, as load reads them. Throws ERR_CORRUPT_STATE naming `file`. */
export function indexFields(text: string, file: string): ContainerFields {
  if (text.length === 0) throw new CorruptStateError(file, "empty file");
  if (escapesLetter(text)) return StateDocument.parse(text, file).fields;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // load's own words for a file it would have read instead (see mayReadOtherwise).
    if (FLOAT_PID.test(text)) return StateDocument.parse(text, file).fields;
    throw new CorruptStateError(file, `invalid JSON: ${(e as Error).message}`, { cause: e });
  }
  // JSON.parse nests without limit; load's decoder stops at a depth: the same file gets the same verdict.
  const deep = tooDeepAt(text);
  if (deep !== undefined && !FLOAT_PID.test(text)) {
    throw new CorruptStateError(file, `invalid JSON: ${tooDeepMessage(deep)}`);
  }
  const direct = deep === undefined ? directFields(value, text) : undefined;
  if (direct === LOSSLESS || (direct === undefined && mayReadOtherwise(text))) {
    return StateDocument.parse(text, file).fields;
  }
  if (direct !== undefined) return direct;
  try {
    return readFields(projectRoot(value));
  } catch (e) {
    if (e instanceof FieldError) throw new CorruptStateError(file, e.message, { cause: e });
    throw e;
  }
}

/** directFields' answer for a file whose fields JSON.parse cannot tell as load reads them: read it with load. */
const LOSSLESS = Symbol("lossless");

/**
 * directFields reads the fields straight off JSON.parse's value when the
 * file is plainly what runsc writes: every field's key spelled exactly (no
 * other key that Go would match to a field), each of a type readFields
 * accepts, `pid` and `goferPid` spelled as integers wherever such a key
 * appears in the text (a float spelling there: LOSSLESS), `status` a string
 * (a legacy integer: LOSSLESS, as JSON.parse reads `3.0` as 3). Anything
 * else is undefined: the projection below then gives readFields' answer or
 * its error. This skips building the lossless shape: most files take it.
 */
function directFields(v: unknown, text: string): ContainerFields | typeof LOSSLESS | undefined {
  if (!isPlainObject(v) || !exactKeysOnly(v, ROOT)) return undefined;
  const sandbox = v.sandbox;
  if (!isPlainObject(sandbox) || !exactKeysOnly(sandbox, SANDBOX)) return undefined;
  const status = v.status;
  if (typeof status === "number") return LOSSLESS;
  if (!isStatus(status)) return undefined;
  if (typeof sandbox.pid === "number" && floatSpelled(text, "pid")) return LOSSLESS;
  if (typeof v.goferPid === "number" && floatSpelled(text, "goferPid")) return LOSSLESS;
  const fields = {
    containerId: directString(v.id),
    sandboxId: directString(sandbox.id),
    storedStatus: status,
    statusEncoding: "string",
    pid: directInt(sandbox.pid),
    goferPid: directInt(v.goferPid),
    createdAt: directString(v.createdAt),
    bundleDir: directString(v.bundleDir),
    owner: directString(v.owner),
    podName: directString(sandbox.podName),
    podNamespace: directString(sandbox.namespace),
    startTime: directString(sandbox.startTime),
    controlSocketPath: directString(sandbox.controlSocketPath),
    annotations: directAnnotations(v.spec),
  };
  // A field of another type: the projection gives readFields' error.
  return Object.values(fields).includes(undefined) ? undefined : (fields as ContainerFields);
}

/** exactKeysOnly: no key but a field's exact name matches a field (Go's folding would find it). */
function exactKeysOnly(obj: Record<string, unknown>, fields: FieldNames): boolean {
  for (const k of Object.keys(obj)) {
    if (!fields.names.has(k) && fieldFor(k, fields) !== undefined) return false;
  }
  return true;
}

/** directString: a string field as readFields reads it (missing or null: ""); undefined for another type. */
function directString(v: unknown): string | undefined {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : undefined;
}

/** directInt: an integer field (missing or null: 0), its spelling checked by floatSpelled; undefined otherwise. */
function directInt(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" && Number.isSafeInteger(v) ? v : undefined;
}

/** directAnnotations: spec.annotations of strings (no spec or none: empty); undefined for anything else. */
function directAnnotations(spec: unknown): Record<string, string> | undefined {
  // No prototype: an annotation named "__proto__" is an ordinary key, as in Go's map.
  const out: Record<string, string> = Object.create(null);
  if (spec === undefined || spec === null) return out;
  if (!isPlainObject(spec) || !exactKeysOnly(spec, SPEC)) return undefined;
  const annotations = spec.annotations;
  if (annotations === undefined || annotations === null) return out;
  if (!isPlainObject(annotations)) return undefined;
  for (const k of Object.keys(annotations)) {
    const value = annotations[k];
    if (typeof value !== "string") return undefined;
    out[k] = value;
  }
  return out;
}

/**
 * floatSpelled: whether some key `name` in the text is followed by a number
 * with a fraction or an exponent. Conservative: it looks at every
 * occurrence, whatever object it is in. It searches for the name and its
 * closing quote, not the opening one: a quote starts every string, and
 * indexOf tries each place its needle's first character appears.
 */
function floatSpelled(text: string, name: string): boolean {
  const needle = `${name}"`;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    if (text.charCodeAt(at - 1) !== 0x22) continue;
    let i = skipBlanks(text, at + needle.length);
    if (text.charCodeAt(i) !== 0x3a) continue;
    i = skipBlanks(text, i + 1);
    if (text.charCodeAt(i) === 0x2d) i++;
    let c = text.charCodeAt(i);
    while (c >= 0x30 && c <= 0x39) c = text.charCodeAt(++i);
    if (c === 0x2e || c === 0x65 || c === 0x45) return true;
  }
  return false;
}

function skipBlanks(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return i;
}

function projectRoot(v: unknown): JsonValue {
  if (!isPlainObject(v)) return scalar(v);
  const root = pick(v, ROOT);
  const sandbox = fieldOf(v, ROOT, "sandbox");
  if (isPlainObject(sandbox)) root.set("sandbox", pick(sandbox, SANDBOX));
  const spec = fieldOf(v, ROOT, "spec");
  if (isPlainObject(spec)) {
    const annotations = fieldOf(spec, SPEC, "annotations");
    // A Go map: its keys are taken as they are.
    root.set(
      "spec",
      new Map([["annotations", isPlainObject(annotations) ? pickAll(annotations) : scalar(annotations)]]),
    );
  }
  return root;
}

/** FieldNames: the names looked for, and the same by Go's folded form. */
interface FieldNames {
  readonly names: ReadonlySet<string>;
  readonly byFold: ReadonlyMap<string, string>;
  readonly lengths: ReadonlySet<number>;
}

function fieldNames(names: readonly string[]): FieldNames {
  return {
    names: new Set(names),
    byFold: new Map(names.map((n) => [goFold(n), n])),
    lengths: new Set(names.map((n) => n.length)),
  };
}

const ROOT = fieldNames(ROOT_KEYS);
const SANDBOX = fieldNames(SANDBOX_KEYS);
const SPEC = fieldNames(["annotations"]);

/** fieldFor names the field a key decodes into, or undefined; only same-length keys need folding. */
function fieldFor(key: string, fields: FieldNames): string | undefined {
  if (fields.names.has(key)) return key;
  return fields.lengths.has(key.length) ? fields.byFold.get(goFold(key)) : undefined;
}

/** pick copies the named fields as scalars, the last matching key winning; nested objects become empty maps. */
function pick(obj: Record<string, unknown>, fields: FieldNames): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  for (const k of Object.keys(obj)) {
    const name = fieldFor(k, fields);
    if (name !== undefined) out.set(name, scalar(obj[k]));
  }
  return out;
}

function fieldOf(obj: Record<string, unknown>, fields: FieldNames, name: string): unknown {
  let found: unknown;
  for (const k of Object.keys(obj)) if (fieldFor(k, fields) === name) found = obj[k];
  return found;
}

function pickAll(obj: Record<string, unknown>): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  for (const k of Object.keys(obj)) out.set(k, scalar(obj[k]));
  return out;
}

function scalar(v: unknown): JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return new JsonNumber(String(v));
  if (Array.isArray(v)) return [];
  if (v === undefined) return null;
  return new Map();
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
