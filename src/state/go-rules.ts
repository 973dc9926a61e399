/**
 * Go encoding/json's rules applied to the lossless tree with the types of
 * go-types.ts: which documents json.Unmarshal would reject (checkGoTypes),
 * how it matches object keys to struct fields (goField), and the key order
 * json.Marshal writes (goOrdered).
 */
import { FieldError } from "./fields.js";
import { JsonNumber, type JsonObject, type JsonValue } from "./go-json.js";
import { compareGoStrings, goFold } from "./go-keys.js";
import { CGROUP_TYPES, CONTAINER_TYPE, type GoInt, type GoType, INT_RANGES } from "./go-types.js";

/** fieldType finds the struct field a key decodes into: an exact name first, then Go's folded match. */
function fieldType(fields: Readonly<Record<string, GoType>>, key: string): GoType | undefined {
  if (Object.hasOwn(fields, key)) return fields[key];
  const folded = goFold(key);
  return folded.length === key.length ? foldedFieldsOf(fields).get(folded) : undefined;
}

const foldedFields = new WeakMap<object, Map<string, GoType>>();

/** foldedFieldsOf maps each field's folded name to its type; the first field wins, as in Go. */
function foldedFieldsOf(fields: Readonly<Record<string, GoType>>): Map<string, GoType> {
  let out = foldedFields.get(fields);
  if (out === undefined) {
    out = new Map();
    for (const [name, type] of Object.entries(fields)) if (!out.has(goFold(name))) out.set(goFold(name), type);
    foldedFields.set(fields, out);
  }
  return out;
}

/**
 * checkGoTypes throws FieldError naming the JSON path (`sandbox.pid`) of the
 * first value runsc's json.Unmarshal into container.Container would reject:
 * a wrong JSON kind, an integer outside its Go type or not written as an
 * integer, a float64 overflow, a time that is not RFC 3339.
 */
export function checkGoTypes(root: JsonValue): void {
  check(root, CONTAINER_TYPE, undefined);
}

function check(v: JsonValue, type: GoType, path: Path): void {
  if (v === null) return; // Go: null leaves any field as it was
  if (typeof type === "string") checkScalar(v, type, path);
  else if ("struct" in type) {
    const obj = expectKind(v, "object", path);
    for (const [k, val] of obj) {
      const t = fieldType(type.struct, k);
      if (t !== undefined) check(val, t, { parent: path, key: k });
    }
  } else if ("map" in type) {
    for (const [k, val] of expectKind(v, "object", path)) check(val, type.map, { parent: path, key: k });
  } else {
    if (!Array.isArray(v)) throw wrongKind(v, "array", path);
    for (let i = 0; i < v.length; i++) check(v[i] as JsonValue, type.slice, { parent: path, key: i });
  }
}

function checkScalar(v: JsonValue, type: Exclude<GoType, object>, path: Path): void {
  switch (type) {
    case "string":
      if (typeof v !== "string") throw wrongKind(v, "string", path);
      return;
    case "bool":
      if (typeof v !== "boolean") throw wrongKind(v, "boolean", path);
      return;
    case "float64":
      if (!(v instanceof JsonNumber)) throw wrongKind(v, "number", path);
      if (!Number.isFinite(v.toNumber())) throw new FieldError(`"${show(path)}" overflows Go float64: number ${v.raw}`);
      return;
    case "time":
      if (typeof v !== "string") throw wrongKind(v, "string (an RFC 3339 time)", path);
      if (!isGoRfc3339(v)) throw new FieldError(`"${show(path)}" is not an RFC 3339 time: ${JSON.stringify(v)}`);
      return;
    case "cgroup":
      checkCgroup(v, path);
      return;
    case "any":
      checkAny(v, path);
      return;
    default:
      checkInt(v, type, path);
  }
}

const SIGNED_TEXT = /^-?(0|[1-9]\d*)$/;
const UNSIGNED_TEXT = /^(0|[1-9]\d*)$/;

/** checkInt applies strconv.ParseInt/ParseUint as Go's decoder does: integer text only, in range. */
function checkInt(v: JsonValue, type: GoInt, path: Path): void {
  if (!(v instanceof JsonNumber)) throw wrongKind(v, "number", path);
  const [min, max] = INT_RANGES[type];
  if (!(min < 0n ? SIGNED_TEXT : UNSIGNED_TEXT).test(v.raw)) {
    throw new FieldError(
      `"${show(path)}" is not a Go ${type}: number ${v.raw} (needs an integer${min < 0n ? "" : " >= 0"})`,
    );
  }
  if (v.inexact)
    throw new FieldError(`"${show(path)}" is a JS number past 2^53, not an exact integer (use a bigint): ${v.raw}`);
  const n = BigInt(v.raw);
  if (n < min || n > max) throw new FieldError(`"${show(path)}" is out of range for Go ${type}: number ${v.raw}`);
}

/** cgroup.CgroupJSON decodes a map[string]json.RawMessage (exact keys) and then the first known shape. */
function checkCgroup(v: JsonValue, path: Path): void {
  const obj = expectKind(v, "object", path);
  for (const [key, type] of CGROUP_TYPES) {
    const inner = obj.get(key);
    if (inner !== undefined) {
      check(inner, type, { parent: path, key });
      return;
    }
  }
}

/** interface{} takes any JSON, but its numbers become float64 and must fit one. */
function checkAny(v: JsonValue, path: Path): void {
  if (v instanceof JsonNumber) {
    if (!Number.isFinite(v.toNumber())) throw new FieldError(`"${show(path)}" overflows Go float64: number ${v.raw}`);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkAny(v[i] as JsonValue, { parent: path, key: i });
  } else if (v instanceof Map) for (const [k, x] of v) checkAny(x, { parent: path, key: k });
}

function expectKind(v: JsonValue, kind: "object", path: Path): JsonObject {
  if (!(v instanceof Map)) throw wrongKind(v, kind, path);
  return v;
}

function wrongKind(v: JsonValue, want: string, path: Path): FieldError {
  return new FieldError(
    `"${show(path) || "document"}" must be ${/^[aeiou]/.test(want) ? "an" : "a"} ${want}: ${kindOf(v)}`,
  );
}

function kindOf(v: JsonValue): string {
  if (v === null) return "null";
  if (v instanceof JsonNumber) return `number ${v.raw}`;
  if (v instanceof Map) return "an object";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `boolean ${v}`;
}

/** A JSON path built only when an error names it: checking must not pay for strings. */
type Path = { readonly parent: Path; readonly key: string | number } | undefined;

/** show spells a path: `a.b[0]`, `a["x.y"]` for keys that are not plain names. */
function show(path: Path): string {
  if (path === undefined) return "";
  const head = show(path.parent);
  const { key } = path;
  if (typeof key === "number") return `${head}[${key}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return head === "" ? key : `${head}.${key}`;
  return `${head}[${JSON.stringify(key)}]`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * isGoRfc3339 is time.Time.UnmarshalJSON's test (Go >= 1.20, the stricter
 * of the Go versions runsc is built with): `T` and `Z` upper case, two-digit
 * fields in range, the day within its month, a `.` fraction of any length,
 * offsets up to 23:59.
 */
export function isGoRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (m === null) return false;
  const [year, month, day, hour, min, sec] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return false;
  if (hour > 23 || min > 59 || sec > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * goOrdered returns the tree with every Go map's keys in json.Marshal's
 * order (sorted by their UTF-8 bytes); structs keep their order. Unchanged
 * subtrees are returned as they are, so a Go-written tree costs no copy.
 */
export function goOrdered(root: JsonValue): JsonValue {
  return order(root, CONTAINER_TYPE);
}

function order(v: JsonValue, type: GoType): JsonValue {
  if (v === null || typeof type === "string") return type === "cgroup" ? orderCgroup(v) : v;
  if ("slice" in type) {
    if (!Array.isArray(v)) return v;
    let out: JsonValue[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const y = order(v[i] as JsonValue, type.slice);
      if (y === v[i]) continue;
      out ??= v.slice();
      out[i] = y;
    }
    return out ?? v;
  }
  if (!(v instanceof Map)) return v;
  if ("map" in type) return orderMap(v, type.map);
  return orderEntries(v, (k) => fieldType(type.struct, k));
}

function orderCgroup(v: JsonValue): JsonValue {
  if (!(v instanceof Map)) return v;
  return orderEntries(v, (k) => CGROUP_TYPES.find(([name]) => name === k)?.[1]);
}

/** orderEntries orders each value by its type, keeping the keys' order. */
function orderEntries(v: JsonObject, typeOf: (key: string) => GoType | undefined): JsonObject {
  let out: JsonObject | undefined;
  for (const [k, x] of v) {
    const t = typeOf(k);
    const y = t === undefined ? x : order(x, t);
    if (y !== x) {
      out ??= new Map(v);
      out.set(k, y);
    }
  }
  return out ?? v;
}

function orderMap(v: JsonObject, elem: GoType): JsonObject {
  const inner = orderEntries(v, () => elem);
  const keys = [...inner.keys()];
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = compareGoStrings(keys[i - 1]!, keys[i]!) < 0;
  if (sorted) return inner;
  keys.sort(compareGoStrings);
  return new Map(keys.map((k) => [k, inner.get(k) as JsonValue]));
}
