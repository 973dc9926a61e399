/**
 * A live watcher process vouches for the index: once it has drained its
 * inotify queue after a caller's call began, every change completed before
 * that call is in the index (it commits the changes before it publishes the
 * drain time). Callers in other processes then skip their own rescans.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { MetaStore } from "../index/meta.js";

/** How long a caller waits for a live watcher's next drain (it drains every ~20 ms). */
export const WATCHER_WAIT_MS = 200;
const POLL_MS = 2;

/** watcherDrainedSince: whether a live watcher (another process) drained since `sinceMs`; undefined when there is none. */
export function watcherDrainedSince(meta: MetaStore, sinceMs: number): boolean | undefined {
  const pid = Number(meta.get("watcher_pid"));
  if (!pid || pid === process.pid || !isAlive(pid)) return undefined;
  return Number(meta.get("watcher_drained_at_ms")) >= sinceMs;
}

/** waitForWatcher waits (on timers) up to WATCHER_WAIT_MS for a live watcher to vouch for `sinceMs`. */
export async function waitForWatcher(meta: MetaStore, sinceMs: number): Promise<boolean> {
  for (;;) {
    const drained = watcherDrainedSince(meta, sinceMs);
    if (drained !== false) return drained === true;
    if (Date.now() > sinceMs + WATCHER_WAIT_MS) return false;
    await sleep(POLL_MS);
  }
}

/**
 * waitForWatcherSync is waitForWatcher for synchronous callers (resolve in a
 * process without its own inotify watch, such as `runsc-index find`). It
 * blocks for at most WATCHER_WAIT_MS, and only while a live watcher exists.
 */
export function waitForWatcherSync(meta: MetaStore, sinceMs: number): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const drained = watcherDrainedSince(meta, sinceMs);
    if (drained !== false) return drained === true;
    if (Date.now() > sinceMs + WATCHER_WAIT_MS) return false;
    Atomics.wait(cell, 0, 0, POLL_MS);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
