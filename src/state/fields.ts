/**
 * fields.ts reads the typed fields runsc defines (runsc/container/container.go
 * and runsc/sandbox/sandbox.go) out of a decoded state document, with Go's
 * decoding rules: a missing field is its zero value, a field of the wrong type
 * makes the whole file unreadable, keys match field names case-insensitively
 * (goField; the last matching key wins).
 */
import { JsonNumber, type JsonObject, type JsonValue } from "./go-json.js";
import { goField } from "./go-keys.js";
import { decodeStatus, type Status, type StatusEncoding } from "./status.js";

/** The typed view of one state file; everything else stays in the document. */
export interface ContainerFields {
  /** `id`. */
  readonly containerId: string;
  /** `sandbox.id`. */
  readonly sandboxId: string;
  /** `status` as stored, normalized to a string. */
  readonly storedStatus: Status;
  readonly statusEncoding: StatusEncoding;
  /** `sandbox.pid`: the sandbox process (what runsc list prints as PID). */
  readonly pid: number;
  /** `goferPid`: 0 once the gofer is gone. */
  readonly goferPid: number;
  /** `createdAt`, RFC3339Nano as written. */
  readonly createdAt: string;
  readonly bundleDir: string;
  readonly owner: string;
  /** `sandbox.podName` / `sandbox.namespace`. */
  readonly podName: string;
  readonly podNamespace: string;
  /** `sandbox.startTime`: when `runsc create` started; "" in files older than 2024-07. */
  readonly startTime: string;
  /** `sandbox.controlSocketPath`: the sandbox's control socket (runsc since 2023-09); "" before (an abstract socket named after the sandbox). */
  readonly controlSocketPath: string;
  /** `spec.annotations` (string map; empty when absent). */
  readonly annotations: Readonly<Record<string, string>>;
}

/** FieldError says which field is wrong; the caller adds the file name. */
export class FieldError extends Error {}

export function readFields(doc: JsonValue): ContainerFields {
  const root = asObject(doc, "document");
  if (root === undefined) throw new FieldError("not a JSON object");
  const sandbox = asObject(goField(root, "sandbox"), "sandbox");
  if (sandbox === undefined) throw new FieldError('"sandbox" is missing or null');
  const status = decodeStatus(goField(root, "status"));
  if (status === undefined)
    throw new FieldError(`"status" is not a known status: ${describe(goField(root, "status"))}`);
  return {
    containerId: str(root, "id"),
    sandboxId: str(sandbox, "id", "sandbox."),
    storedStatus: status.status,
    statusEncoding: status.encoding,
    pid: int(sandbox, "pid", "sandbox."),
    goferPid: int(root, "goferPid"),
    createdAt: str(root, "createdAt"),
    bundleDir: str(root, "bundleDir"),
    owner: str(root, "owner"),
    podName: str(sandbox, "podName", "sandbox."),
    podNamespace: str(sandbox, "namespace", "sandbox."),
    startTime: str(sandbox, "startTime", "sandbox."),
    controlSocketPath: str(sandbox, "controlSocketPath", "sandbox."),
    annotations: annotationsOf(root),
  };
}

function asObject(v: JsonValue | undefined, name: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof Map)) throw new FieldError(`"${name}" is not an object: ${describe(v)}`);
  return v;
}

function str(obj: JsonObject, key: string, path = ""): string {
  const v = goField(obj, key);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new FieldError(`"${path}${key}" is not a string: ${describe(v)}`);
  return v;
}

function int(obj: JsonObject, key: string, path = ""): number {
  const v = goField(obj, key);
  if (v === undefined || v === null) return 0;
  if (!(v instanceof JsonNumber) || !/^-?\d+$/.test(v.raw) || !Number.isSafeInteger(Number(v.raw))) {
    throw new FieldError(`"${path}${key}" is not an integer: ${describe(v)}`);
  }
  return Number(v.raw);
}

function annotationsOf(root: JsonObject): Record<string, string> {
  const spec = asObject(goField(root, "spec"), "spec");
  const annotations = spec && asObject(goField(spec, "annotations"), "spec.annotations");
  // No prototype: an annotation named "__proto__" is an ordinary key, as in Go's map.
  const out: Record<string, string> = Object.create(null);
  if (annotations === undefined) return out;
  for (const [k, v] of annotations) {
    if (typeof v !== "string") throw new FieldError(`"spec.annotations.${k}" is not a string: ${describe(v)}`);
    out[k] = v;
  }
  return out;
}

function describe(v: JsonValue | undefined): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (v instanceof JsonNumber) return `number ${v.raw}`;
  if (v instanceof Map) return "an object";
  if (Array.isArray(v)) return "an array";
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}
