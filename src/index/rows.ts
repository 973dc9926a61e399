import type { ContainerFields } from "../state/fields.js";
import type { FileInfo } from "../state/file-info.js";
import { encodeGoJson, type JsonObject } from "../state/go-json.js";
import type { Status } from "../state/status.js";

/**
 * One `containers` row as positional values in the upsert's column order.
 * A flat array of primitives: cheap to send from a worker thread and to bind.
 */
export type RowValues = readonly [
  containerId: string,
  sandboxId: string,
  status: string,
  pid: number,
  goferPid: number,
  createdAt: string,
  bundleDir: string,
  owner: string,
  isRoot: number,
  podName: string,
  podNamespace: string,
  startTime: string,
  annotations: string,
  fileSize: number,
  fileMtimeMs: number,
  fileCtimeMs: number,
  fileIno: number,
  indexedAt: number,
  state: string | null,
];

/** rowValues builds a row from a file's typed fields and stat; stateText only when asked (--with-state). */
export function rowValues(f: ContainerFields, file: FileInfo, stateText?: string, indexedAtMs = Date.now()): RowValues {
  return [
    f.containerId,
    f.sandboxId,
    f.storedStatus,
    f.pid,
    f.goferPid,
    f.createdAt,
    f.bundleDir,
    f.owner,
    f.containerId === f.sandboxId ? 1 : 0,
    f.podName,
    f.podNamespace,
    f.startTime,
    annotationsText(f.annotations),
    file.size,
    file.mtimeMs,
    file.ctimeMs,
    file.ino,
    indexedAtMs,
    stateText ?? null,
  ];
}

/** One row of `containers` as the store reads it back (file metadata left out). */
export interface ContainerRow {
  readonly containerId: string;
  readonly sandboxId: string;
  /** Stored status; null while the row is pending (content not read yet). */
  readonly status: Status | null;
  readonly pid: number | null;
  readonly goferPid: number | null;
  readonly createdAt: string | null;
  readonly bundleDir: string | null;
  readonly owner: string | null;
  readonly isRoot: number;
  readonly podName: string | null;
  readonly podNamespace: string | null;
  readonly startTime: string | null;
  /** Go-encoded JSON object with sorted keys, exactly what runsc prints. */
  readonly annotations: string | null;
  readonly pending: number;
}

/**
 * annotationsText encodes annotations as Go encodes a map: keys sorted
 * bytewise, Go escaping. `runsc list --format=json` then needs no re-encoding.
 */
export function annotationsText(annotations: Readonly<Record<string, string>>): string {
  const plain = plainAnnotationsText(annotations);
  if (plain !== undefined) return plain;
  const keys = Object.keys(annotations).sort(compareUtf8);
  const map: JsonObject = new Map(keys.map((k) => [k, annotations[k]!]));
  return encodeGoJson(map);
}

/** Printable ASCII that Go's encoder copies as is: not `"`, `\\`, `<`, `>` or `&`. */
const PLAIN = /^[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]*$/;

/**
 * plainAnnotationsText is annotationsText when every key and value is
 * PLAIN (what runsc's annotations are): nothing to escape, and code-unit
 * order is byte order. undefined otherwise. A reconcile encodes one map per
 * file; this costs about half the general path (2.5 µs a map where it took 4.6).
 */
function plainAnnotationsText(annotations: Readonly<Record<string, string>>): string | undefined {
  const keys = Object.keys(annotations);
  for (const k of keys) if (!PLAIN.test(k) || !PLAIN.test(annotations[k]!)) return undefined;
  keys.sort();
  let out = "{";
  for (const k of keys) out += `${out.length > 1 ? "," : ""}"${k}":"${annotations[k]}"`;
  return `${out}}`;
}

/**
 * compareUtf8 orders strings by their UTF-8 bytes, as Go sorts map keys.
 * UTF-16 order differs only when a surrogate pair (a character past U+FFFF)
 * meets a character in U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  if (HAS_SURROGATE.test(a) || HAS_SURROGATE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

const HAS_SURROGATE = /[\ud800-\udfff]/;
