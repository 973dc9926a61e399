import { createRequire } from "node:module";
import type { ContainerId, IdPair, SandboxId } from "./id.js";
import { parseIdPair } from "./id.js";

/**
 * runsc names a container's files `<cid>_sandbox:<sid>.state` and
 * `<cid>_sandbox:<sid>.lock` (runsc/container/state_file.go, buildPath).
 * The pattern is anchored (runsc's is not) and then both IDs are validated.
 */
const STATE_NAME = /^([A-Za-z0-9_+.-]+)_sandbox:([A-Za-z0-9_+.-]+)\.state$/;
const LOCK_NAME = /^([A-Za-z0-9_+.-]+)_sandbox:([A-Za-z0-9_+.-]+)\.lock$/;

export const STATE_SUFFIX = ".state";
export const LOCK_SUFFIX = ".lock";
/** Between the two IDs in a file name (also spelled in SQL by sqlite-index.ts). */
export const NAME_SEPARATOR = "_sandbox:";

/**
 * Our temporary files: `.runsc-index-tmp.<pid>.<n>.<tag>`, where tag is 16
 * hex digits of sha1 of the container's base name. They start with "." and
 * contain no ":", so no glob runsc uses (`*_sandbox:*.state`) and no pattern
 * here can ever match them, and they stay short whatever the IDs' length.
 * prune finds a temp file's container, and so its lock, through the tag.
 */
export const TEMP_PREFIX = ".runsc-index-tmp.";
const TEMP_NAME = /^\.runsc-index-tmp\.\d+\.\d+\.([0-9a-f]{16})$/;

export function baseName(containerId: ContainerId, sandboxId: SandboxId): string {
  return `${containerId}${NAME_SEPARATOR}${sandboxId}`;
}

export function stateFileName(containerId: ContainerId, sandboxId: SandboxId): string {
  return baseName(containerId, sandboxId) + STATE_SUFFIX;
}

export function lockFileName(containerId: ContainerId, sandboxId: SandboxId): string {
  return baseName(containerId, sandboxId) + LOCK_SUFFIX;
}

function parseWith(pattern: RegExp, name: string): IdPair | undefined {
  const m = pattern.exec(name);
  if (!m) return undefined;
  try {
    return parseIdPair(m[1], m[2]);
  } catch {
    return undefined; // e.g. an ID of "..": not a name runsc could have written
  }
}

/** parseStateFileName returns the IDs in a state file name, or undefined. */
export function parseStateFileName(name: string): IdPair | undefined {
  return name.endsWith(STATE_SUFFIX) ? parseWith(STATE_NAME, name) : undefined;
}

/** parseLockFileName returns the IDs in a lock file name, or undefined. */
export function parseLockFileName(name: string): IdPair | undefined {
  return name.endsWith(LOCK_SUFFIX) ? parseWith(LOCK_NAME, name) : undefined;
}

/** looksLikeStateFile: the name ends like a state file but may not parse (reported as invalid). */
export function looksLikeStateFile(name: string): boolean {
  return name.endsWith(STATE_SUFFIX) && name.includes(NAME_SEPARATOR);
}

export function isTempFileName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** tempTag is the part of a temp file name that names its container. */
export function tempTag(containerId: ContainerId, sandboxId: SandboxId): string {
  return crypto().createHash("sha1").update(baseName(containerId, sandboxId)).digest("hex").slice(0, 16);
}

let cryptoModule: typeof import("node:crypto") | undefined;

/** node:crypto is required on the first write, not imported: some 20 internal modules no lookup needs. */
function crypto(): typeof import("node:crypto") {
  cryptoModule ??= createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  return cryptoModule;
}

/** tempTagOf returns the tag of one of our temp file names, or undefined. */
export function tempTagOf(name: string): string | undefined {
  return TEMP_NAME.exec(name)?.[1];
}

let tempCounter = 0;

/** tempFileName returns a fresh temporary name for a write of this container. */
export function tempFileName(containerId: ContainerId, sandboxId: SandboxId): string {
  tempCounter += 1;
  return `${TEMP_PREFIX}${process.pid}.${tempCounter}.${tempTag(containerId, sandboxId)}`;
}
