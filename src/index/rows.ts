import type { ContainerFields } from "../state/fields.js";
import { encodeGoJson, type JsonObject } from "../state/go-json.js";
import type { Status } from "../state/status.js";

/** What a stat of a state file tells us; a change in any of it means "read again". */
export interface FileInfo {
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
}

/** A state file's content, ready to be written to the index. */
export interface RowInput {
  readonly fields: ContainerFields;
  readonly file: FileInfo;
  /** The whole JSON text, stored only when asked (--with-state). */
  readonly stateText?: string | undefined;
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
  const keys = Object.keys(annotations).sort(compareUtf8);
  const map: JsonObject = new Map(keys.map((k) => [k, annotations[k]!]));
  return encodeGoJson(map);
}

export function fileInfoOf(st: {
  size: bigint | number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint | number;
}): FileInfo {
  return { size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: BigInt(st.ino) };
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
