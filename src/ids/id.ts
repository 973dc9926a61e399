import { RunscIndexError } from "../errors.js";

declare const containerIdBrand: unique symbol;
declare const sandboxIdBrand: unique symbol;

/** A container ID that passed parseId: safe to put in a file name. */
export type ContainerId = string & { readonly [containerIdBrand]: true };
/** A sandbox ID that passed parseId: safe to put in a file name. */
export type SandboxId = string & { readonly [sandboxIdBrand]: true };

/**
 * runsc's validateID: `^[\w+\.-]+$`, i.e. [A-Za-z0-9_+.-]. Underscore is
 * allowed (a comment in runsc's buildPath says otherwise; the regex wins).
 * ":" can never appear, which keeps the `_sandbox:` split unambiguous.
 */
const ID_PATTERN = /^[A-Za-z0-9_+.-]+$/;

/** The longest file name Linux accepts (NAME_MAX). */
export const NAME_MAX = 255;
/** `<cid>_sandbox:<sid>.state`: the longest name we build. */
const STATE_NAME_OVERHEAD = "_sandbox:".length + ".state".length;
/** The longest single ID: its state file name, with a one-character partner ID, fits in NAME_MAX. */
const MAX_ID_LENGTH = NAME_MAX - STATE_NAME_OVERHEAD - 1;

/** checkText: the alphabet and length every ID and prefix must have. */
function checkText(kind: string, id: unknown): string {
  if (typeof id !== "string") throw invalid(kind, String(id), "not a string");
  if (id === "") throw invalid(kind, id, "empty");
  if (!ID_PATTERN.test(id)) throw invalid(kind, id, "only [A-Za-z0-9_+.-] are allowed");
  if (id.length > MAX_ID_LENGTH)
    throw invalid(kind, id, `longer than ${MAX_ID_LENGTH} characters, so no state file name can hold it`);
  return id;
}

function checkId(kind: string, id: unknown): string {
  const checked = checkText(kind, id);
  if (checked === "." || checked === "..") throw invalid(kind, checked, "a path component");
  return checked;
}

function invalid(kind: string, id: string, why: string): RunscIndexError {
  const shown = id.length > 80 ? `${id.slice(0, 80)}...` : id;
  return new RunscIndexError("ERR_INVALID_ID", `invalid ${kind} ID ${JSON.stringify(shown)}: ${why}`);
}

/** parseContainerId checks a full container ID. Throws ERR_INVALID_ID. */
export function parseContainerId(id: unknown): ContainerId {
  return checkId("container", id) as ContainerId;
}

/** parseSandboxId checks a full sandbox ID. Throws ERR_INVALID_ID. */
export function parseSandboxId(id: unknown): SandboxId {
  return checkId("sandbox", id) as SandboxId;
}

/** IdPair names one container: the pair in its state file's name, `<cid>_sandbox:<sid>.state`. */
export interface IdPair {
  readonly containerId: ContainerId;
  readonly sandboxId: SandboxId;
}

/** idPairKey is one string per container, for maps and sets (NUL is in no ID; the same ID may be in two sandboxes). */
export function idPairKey(c: { readonly containerId: string; readonly sandboxId: string }): string {
  return `${c.containerId}\0${c.sandboxId}`;
}

/**
 * parseIdPair checks both IDs and that `<cid>_sandbox:<sid>.state` fits in
 * NAME_MAX bytes (IDs are ASCII, so characters are bytes). Throws ERR_INVALID_ID.
 */
export function parseIdPair(containerId: unknown, sandboxId: unknown): IdPair {
  const cid = parseContainerId(containerId);
  const sid = parseSandboxId(sandboxId);
  if (cid.length + sid.length + STATE_NAME_OVERHEAD > NAME_MAX) {
    throw invalid("container", cid, `state file name for sandbox "${sid}" would exceed ${NAME_MAX} bytes`);
  }
  return { containerId: cid, sandboxId: sid };
}

/**
 * parsePrefix checks an ID prefix given by a user: the same alphabet as IDs,
 * so no glob, LIKE or path character can reach a query or a path. "." and
 * ".." are refused like the IDs they spell, though ".x" is a valid ID.
 * Throws ERR_INVALID_ID.
 */
export function parsePrefix(prefix: unknown): string {
  return checkId("container", prefix);
}
