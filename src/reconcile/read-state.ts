import path from "node:path";
import { CorruptStateError } from "../errors.js";
import type { IdPair } from "../ids/id.js";
import { type RowValues, rowValues } from "../index/rows.js";
import type { ContainerFields } from "../state/fields.js";
import type { FileInfo } from "../state/file-info.js";
import { indexFields } from "../state/index-fields.js";
import { readStateFile } from "../state/state-files.js";
import { scanStateFile } from "../state/state-scan.js";

/** What reading one state file gave: a row, a reason it is invalid, or nothing (it vanished). */
export type ReadResult =
  | { readonly kind: "row"; readonly name: string; readonly row: RowValues }
  | {
      readonly kind: "invalid";
      readonly name: string;
      readonly reason: string;
      /** It did not parse (empty, cut short, not UTF-8): what a write in progress looks like. */
      readonly torn: boolean;
    }
  | { readonly kind: "gone"; readonly name: string };

/**
 * readIndexRow reads and decodes a state file without its lock. That is safe
 * because a torn in-place write by runsc never parses; the caller re-reads
 * invalid files under the lock before believing them. The IDs inside must
 * match the file name. The native scanner reads what it can (not the whole
 * text, which --with-state keeps); the rest, errors included, is indexFields'.
 */
export function readIndexRow(root: string, name: string, ids: IdPair, withState: boolean): ReadResult {
  const scanned = withState ? undefined : scanStateFile(path.join(root, name));
  if (scanned !== undefined) return indexRow(name, ids, scanned.fields, scanned.info);
  try {
    const file = readStateFile(path.join(root, name));
    if (file === undefined) return { kind: "gone", name };
    return indexRow(name, ids, indexFields(file.text, name), file.info, withState ? file.text : undefined);
  } catch (e) {
    if (e instanceof CorruptStateError) return { kind: "invalid", name, reason: e.reason, torn: looksTorn(e.reason) };
    throw e;
  }
}

/** indexRow: the row of a file whose fields were read, unless the IDs inside are not the file name's. */
function indexRow(name: string, ids: IdPair, f: ContainerFields, info: FileInfo, stateText?: string): ReadResult {
  if (f.containerId !== ids.containerId || f.sandboxId !== ids.sandboxId) {
    return {
      kind: "invalid",
      name,
      reason: `IDs inside (${f.containerId}, sandbox ${f.sandboxId}) do not match the file name`,
      torn: false,
    };
  }
  return { kind: "row", name, row: rowValues(f, info, stateText) };
}

/** The reasons a partly written file gives; type errors and the rest come from whole files. */
function looksTorn(reason: string): boolean {
  return reason === "empty file" || reason.startsWith("invalid JSON") || reason === "not valid UTF-8";
}

/** ReadResult kinds as sent between threads (encodeResults). */
const ROW = 0;
const INVALID = 1;
const GONE = 2;
const ROW_LENGTH = 19;

/**
 * encodeResults flattens the results of reading a batch of names, in the
 * batch's order, into one array of primitives without the names (the
 * receiver has them): a row is its kind then its values; an invalid file its
 * kind, reason and torn flag. A worker posts this: structured cloning of one
 * flat array costs both threads far less than of an object and array per file.
 */
export function encodeResults(results: readonly ReadResult[]): unknown[] {
  const out: unknown[] = [];
  for (const r of results) {
    if (r.kind === "row") {
      out.push(ROW);
      for (let k = 0; k < ROW_LENGTH; k++) out.push(r.row[k]);
    } else if (r.kind === "invalid") out.push(INVALID, r.reason, r.torn ? 1 : 0);
    else out.push(GONE);
  }
  return out;
}

/** decodeResults rebuilds encodeResults' results, naming them from `names` (the batch, in order). */
export function decodeResults(flat: readonly unknown[], names: readonly string[]): ReadResult[] {
  const out: ReadResult[] = [];
  let at = 0;
  for (const name of names) {
    const kind = flat[at++];
    if (kind === ROW) {
      out.push({ kind: "row", name, row: flat.slice(at, at + ROW_LENGTH) as unknown as RowValues });
      at += ROW_LENGTH;
    } else if (kind === INVALID) {
      out.push({ kind: "invalid", name, reason: flat[at] as string, torn: flat[at + 1] === 1 });
      at += 2;
    } else out.push({ kind: "gone", name });
  }
  return out;
}
