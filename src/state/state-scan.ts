/**
 * The native state-file scanner (native/state-scan.c, built by node-gyp at
 * `npm ci`/install into build/Release): a full reconcile's fast path for
 * one file. It reads the file and checks its whole text as load's decoder
 * would, and takes only the index's fields, at about a third of the cost of
 * reading and JSON.parse-ing it. It answers only for files it reads exactly
 * as load does (docs/state-scan.md); for any other file, and when the addon
 * was not built, scanStateFile is undefined and the caller reads the file
 * the ordinary way, which also words the error.
 */
import { loadAddon } from "../native/addons.js";
import type { ContainerFields } from "./fields.js";
import type { FileInfo } from "./file-info.js";
import type { Status } from "./status.js";

interface Addon {
  scanStateFile(file: string): unknown[] | undefined;
}

let addon: Addon | null | undefined;

/** scanner: the addon, or null when it was not built (no compiler at install): the JavaScript path then does it all. */
function scanner(): Addon | null {
  addon ??= loadAddon("state_scan") as Addon | null;
  return addon;
}

/** nativeScannerLoaded: whether this process has the native scanner (the tests require it where it was built). */
export function nativeScannerLoaded(): boolean {
  return scanner() !== null;
}

/** What the scanner took from one file. */
export interface ScannedStateFile {
  readonly fields: ContainerFields;
  readonly info: FileInfo;
}

/** The place of each value in the addon's answer (native/state-scan.c), annotations' pairs after the last. */
const ANNOTATIONS_AT = 16;

/**
 * scanStateFile: the index's fields of the state file at `file` and its
 * stat, as readStateFile then indexFields would give them; undefined when
 * the scanner leaves the file to them (anything but plain runsc output, an
 * error, a vanished file) or is not built.
 */
export function scanStateFile(file: string): ScannedStateFile | undefined {
  const v = scanner()?.scanStateFile(file);
  if (v === undefined) return undefined;
  // No prototype: an annotation named "__proto__" is an ordinary key, as in Go's map.
  const annotations: Record<string, string> = Object.create(null);
  for (let k = ANNOTATIONS_AT; k < v.length; k += 2) annotations[v[k] as string] = v[k + 1] as string;
  const fields: ContainerFields = {
    containerId: v[4] as string,
    sandboxId: v[5] as string,
    storedStatus: v[6] as Status,
    statusEncoding: "string",
    pid: v[7] as number,
    goferPid: v[8] as number,
    createdAt: v[9] as string,
    bundleDir: v[10] as string,
    owner: v[11] as string,
    podName: v[12] as string,
    podNamespace: v[13] as string,
    startTime: v[14] as string,
    controlSocketPath: v[15] as string,
    annotations,
  };
  return {
    fields,
    info: { size: v[0] as number, mtimeMs: v[1] as number, ctimeMs: v[2] as number, ino: v[3] as number },
  };
}
