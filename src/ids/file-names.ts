import type { ContainerId, SandboxId } from "./id.js";
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
const SEPARATOR = "_sandbox:";

/**
 * Our temporary files start with "." and contain no "_sandbox:" so that no
 * glob runsc uses (`*_sandbox:*.state`) and no pattern here can match them.
 * Example: `.runsc-index-tmp.4211.17.c1`.
 */
export const TEMP_PREFIX = ".runsc-index-tmp.";

export interface FileIds {
  readonly containerId: ContainerId;
  readonly sandboxId: SandboxId;
}

export function baseName(containerId: ContainerId, sandboxId: SandboxId): string {
  return `${containerId}${SEPARATOR}${sandboxId}`;
}

export function stateFileName(containerId: ContainerId, sandboxId: SandboxId): string {
  return baseName(containerId, sandboxId) + STATE_SUFFIX;
}

export function lockFileName(containerId: ContainerId, sandboxId: SandboxId): string {
  return baseName(containerId, sandboxId) + LOCK_SUFFIX;
}

function parseWith(pattern: RegExp, name: string): FileIds | undefined {
  const m = pattern.exec(name);
  if (!m) return undefined;
  try {
    return parseIdPair(m[1], m[2]);
  } catch {
    return undefined; // e.g. an ID of "..": not a name runsc could have written
  }
}

/** parseStateFileName returns the IDs in a state file name, or undefined. */
export function parseStateFileName(name: string): FileIds | undefined {
  return name.endsWith(STATE_SUFFIX) ? parseWith(STATE_NAME, name) : undefined;
}

/** parseLockFileName returns the IDs in a lock file name, or undefined. */
export function parseLockFileName(name: string): FileIds | undefined {
  return name.endsWith(LOCK_SUFFIX) ? parseWith(LOCK_NAME, name) : undefined;
}

/** looksLikeStateFile: the name ends like a state file but may not parse (reported as invalid). */
export function looksLikeStateFile(name: string): boolean {
  return name.endsWith(STATE_SUFFIX) && name.includes(SEPARATOR);
}

export function isTempFileName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

let tempCounter = 0;

/** tempFileName returns a fresh temporary name for a write of this container. */
export function tempFileName(containerId: ContainerId): string {
  tempCounter += 1;
  return `${TEMP_PREFIX}${process.pid}.${tempCounter}.${containerId.slice(0, 64)}`;
}
