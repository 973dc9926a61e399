/**
 * The event types of the index's log, in a module of their own: the public
 * event types (watch/events.ts) name them without pulling in the log's
 * SQLite code.
 */

/** The event types; `stopped` is logged once per container when its sandbox process dies. */
export const EVENT_TYPES = ["created", "updated", "removed", "stopped", "overflow", "resync"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
