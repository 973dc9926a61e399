/**
 * The event stream: the `events` table of the index (see index/event-log.ts)
 * read in order and then followed. A subscriber wakes when the index's
 * directory changes (every commit writes the WAL there), with a slow timer as
 * a backstop; it never writes.
 */
import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import type { EventRow } from "../index/event-log.js";
import type { EventType } from "../index/event-types.js";
import type { SqliteIndex } from "../index/sqlite-index.js";

export interface EventOptions {
  /** Deliver events after this sequence number first (default: only events from now on). */
  readonly since?: number;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
  /** Run a watcher while iterating, so changes by runsc and plain writes are logged (default true). */
  readonly watch?: boolean;
}

interface EventCommon {
  /** Sequence number in the index's event log; resume with `since: seq`. */
  readonly seq: number;
  /** When the change was observed, RFC 3339 UTC. */
  readonly time: string;
}

interface ContainerCommon extends EventCommon {
  readonly containerId: string;
  readonly sandboxId: string;
  /** The sandbox process ID as stored. */
  readonly pid: number | null;
}

/** A state file appeared (its first version read). */
export interface CreatedEvent extends ContainerCommon {
  readonly type: "created";
  readonly status: string | null;
}

/** A state file changed: the stored status before and after. */
export interface UpdatedEvent extends ContainerCommon {
  readonly type: "updated";
  readonly statusBefore: string | null;
  readonly status: string | null;
}

/** A state file was removed. */
export interface RemovedEvent extends ContainerCommon {
  readonly type: "removed";
  readonly statusBefore: string | null;
}

/** The sandbox process of a created/running/paused container exited; its file still says statusBefore. */
export interface StoppedEvent extends ContainerCommon {
  readonly type: "stopped";
  readonly statusBefore: string | null;
}

/** A watcher's inotify queue overflowed: events were lost; a `resync` follows. */
export interface OverflowEvent extends EventCommon {
  readonly type: "overflow";
}

/** The rescan after an overflow finished; the created/updated/removed events since the overflow are what it found. */
export interface ResyncEvent extends EventCommon {
  readonly type: "resync";
  readonly differences: { readonly created: number; readonly updated: number; readonly removed: number };
}

/** Events after `since` up to `seq` are no longer kept (or the index was rebuilt): they cannot be delivered. */
export interface GapEvent extends EventCommon {
  readonly type: "gap";
  readonly missedFrom: number;
  readonly reason: string;
}

export type StoreEvent =
  | CreatedEvent
  | UpdatedEvent
  | RemovedEvent
  | StoppedEvent
  | OverflowEvent
  | ResyncEvent
  | GapEvent;

/** The types a filter may name. */
export type StoreEventType = EventType | "gap";

/** How long a subscriber sleeps at most when no commit woke it. */
const BACKSTOP_MS = 500;
const BATCH = 1_000;

/**
 * @internal Left out of the installed .d.ts: it takes the internal index.
 * eventStream yields the log's events after `options.since` (a gap event
 * first when some are no longer kept), then follows it until the signal
 * aborts or `closed()` says the store closed. Throws ERR_INVALID_ARGUMENT
 * for a bad `since`.
 */
export async function* eventStream(
  index: () => SqliteIndex,
  indexPath: string,
  options: EventOptions,
  closed: () => boolean,
): AsyncGenerator<StoreEvent> {
  const since = options.since;
  if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
    throw new RunscIndexError("ERR_INVALID_ARGUMENT", `events: "since" must be a sequence number >= 0, not ${since}`);
  }
  const waker = new Waker(path.dirname(indexPath), options.signal);
  try {
    let seq = since ?? index().events.lastSeq();
    const gap = gapAfter(index(), seq);
    if (gap) {
      yield gap;
      seq = gap.seq;
    }
    while (!closed() && !options.signal?.aborted) {
      const batch = index().events.after(seq, BATCH);
      for (const row of batch) {
        yield eventOf(row);
        seq = row.seq;
      }
      if (batch.length < BATCH) await waker.next();
    }
  } finally {
    waker.close();
  }
}

function gapAfter(index: SqliteIndex, since: number): GapEvent | undefined {
  const last = index.events.lastSeq();
  const time = new Date().toISOString();
  if (since > last) {
    return {
      type: "gap",
      seq: 0,
      time,
      missedFrom: since + 1,
      reason: `the event log ends at ${last}: the index was rebuilt`,
    };
  }
  const trimmed = index.events.trimmedThrough();
  if (since < trimmed) {
    return {
      type: "gap",
      seq: trimmed,
      time,
      missedFrom: since + 1,
      reason: `events up to ${trimmed} are no longer kept`,
    };
  }
  return undefined;
}

function eventOf(r: EventRow): StoreEvent {
  const common = { seq: r.seq, time: new Date(r.atMs).toISOString() };
  const container = { ...common, containerId: r.containerId ?? "", sandboxId: r.sandboxId ?? "", pid: r.pid };
  switch (r.type) {
    case "created":
      return { type: "created", ...container, status: r.statusAfter };
    case "updated":
      return { type: "updated", ...container, statusBefore: r.statusBefore, status: r.statusAfter };
    case "removed":
      return { type: "removed", ...container, statusBefore: r.statusBefore };
    case "stopped":
      return { type: "stopped", ...container, statusBefore: r.statusBefore };
    case "overflow":
      return { type: "overflow", ...common };
    case "resync":
      return { type: "resync", ...common, differences: JSON.parse(r.detail ?? "{}") };
  }
}

/** Waker resolves next() on a change in the index's directory, on abort, or after BACKSTOP_MS. */
class Waker {
  readonly #watch: fs.FSWatcher | undefined;
  readonly #signal: AbortSignal | undefined;
  #pending: (() => void) | undefined;
  #dirty = false;

  constructor(dir: string, signal: AbortSignal | undefined) {
    this.#signal = signal;
    try {
      this.#watch = fs.watch(dir, { persistent: false }, () => this.#fire());
      this.#watch.on("error", () => {});
    } catch {
      this.#watch = undefined; // the backstop timer still wakes us
    }
    signal?.addEventListener("abort", () => this.#fire(), { once: true });
  }

  #fire(): void {
    this.#dirty = true;
    this.#pending?.();
  }

  next(): Promise<void> {
    if (this.#dirty || this.#signal?.aborted) {
      this.#dirty = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, BACKSTOP_MS);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#pending = undefined;
        self.#dirty = false;
        resolve();
      }
      this.#pending = done;
    });
  }

  close(): void {
    this.#watch?.close();
    this.#pending?.();
  }
}
