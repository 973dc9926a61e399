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
 */
import { CorruptStateError } from "../errors.js";
import { tooDeepAt, tooDeepMessage } from "./codec.js";
import { StateDocument } from "./document.js";
import { type ContainerFields, FieldError, readFields } from "./fields.js";
import { JsonNumber, type JsonValue } from "./go-json.js";
import { goFold } from "./go-keys.js";

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
  if (mayReadOtherwise(text)) return StateDocument.parse(text, file).fields;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `invalid JSON: ${(e as Error).message}`, { cause: e });
  }
  // JSON.parse nests without limit; load's decoder stops at a depth: the same file gets the same verdict.
  const deep = tooDeepAt(text);
  if (deep !== undefined) throw new CorruptStateError(file, `invalid JSON: ${tooDeepMessage(deep)}`);
  try {
    return readFields(projectRoot(value));
  } catch (e) {
    if (e instanceof FieldError) throw new CorruptStateError(file, e.message, { cause: e });
    throw e;
  }
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
