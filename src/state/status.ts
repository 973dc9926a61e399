import { JsonNumber, type JsonValue } from "./go-json.js";

/** The statuses runsc knows (runsc/container/status.go), in the API's string form. */
export const STATUSES = ["created", "creating", "running", "paused", "stopped"] as const;
export type Status = (typeof STATUSES)[number];

/** Statuses in which a sandbox process should exist (runsc's SandboxPid and liveness check). */
export const LIVE_STATUSES: readonly Status[] = ["created", "running", "paused"];

/**
 * Until release-2021112x runsc wrote status as an iota integer:
 * Created=0, Creating=1, Paused=2, Running=3, Stopped=4. The index is the value.
 */
const LEGACY_STATUSES: readonly Status[] = ["created", "creating", "paused", "running", "stopped"];

/** How a file spells its status; a save writes it back the same way. */
export type StatusEncoding = "string" | "legacy-int";

export function isStatus(s: unknown): s is Status {
  return typeof s === "string" && (STATUSES as readonly string[]).includes(s);
}

/** decodeStatus reads either encoding; undefined when it is neither. */
export function decodeStatus(v: JsonValue | undefined): { status: Status; encoding: StatusEncoding } | undefined {
  if (typeof v === "string") return isStatus(v) ? { status: v, encoding: "string" } : undefined;
  if (v instanceof JsonNumber) {
    const status = LEGACY_STATUSES[Number(v.raw)];
    return status !== undefined && /^[0-4]$/.test(v.raw) ? { status, encoding: "legacy-int" } : undefined;
  }
  return undefined;
}

export function encodeStatus(status: Status, encoding: StatusEncoding): JsonValue {
  return encoding === "string" ? status : new JsonNumber(String(LEGACY_STATUSES.indexOf(status)));
}
