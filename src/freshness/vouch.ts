/**
 * Live watchers vouch for the index. A watcher registers in `meta` under
 * `watcher:<pid>:<start ticks>:<root dev>:<root ino>`; the value is the wall
 * clock (ms) at which it last began a drain whose changes it has committed.
 *
 * A caller in another process that needs every change completed before its
 * call began asks for a vouch: it writes the request file in the vouch
 * directory (next to the index), which every watcher watches. A watcher then
 * drains its queue, commits, and publishes the drain's start time. Nothing is
 * written while nobody asks and nothing changes.
 *
 * A registration is trusted only while its process runs with the same start
 * time (a dead watcher whose PID was reused is not) and the root still is the
 * directory it watches (a root symlink retargeted under it is not).
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { MetaStore } from "../index/meta.js";
import { procStatFields } from "../liveness/liveness.js";
import { openRegular } from "../native/safe-fs.js";

/** How long a caller waits for a live watcher's vouch. */
export const WATCHER_WAIT_MS = 200;
const POLL_MS = 1;
const KEY_PREFIX = "watcher:";
const REQUEST_FILE = "request";

/** The identity of a watcher: its process and the directory it watches. */
export interface WatcherIdentity {
  readonly pid: number;
  readonly startTicks: number;
  readonly rootId: string;
}

/** vouchDirOf is the directory where callers ask watchers to vouch: `<index>.vouch`. */
export function vouchDirOf(indexPath: string): string {
  return `${indexPath}.vouch`;
}

/** rootIdOf returns "<dev>:<ino>" of the root (following a symlink), or undefined when it does not exist. */
export function rootIdOf(root: string): string | undefined {
  const st = fs.statSync(root, { throwIfNoEntry: false });
  return st && `${st.dev}:${st.ino}`;
}

/** processStartTicks returns field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined if gone. */
export function processStartTicks(pid: number): number | undefined {
  const fields = procStatFields(pid);
  if (fields === undefined || fields[0] === "Z" || fields[0] === "X") return undefined;
  return Number(fields[19]);
}

export function watcherKey(w: WatcherIdentity): `watcher:${string}` {
  return `${KEY_PREFIX}${w.pid}:${w.startTicks}:${w.rootId}`;
}

function parseWatcherKey(key: string): WatcherIdentity | undefined {
  const m = /^watcher:(\d+):(\d+):(\d+:\d+)$/.exec(key);
  return m ? { pid: Number(m[1]), startTicks: Number(m[2]), rootId: m[3]! } : undefined;
}

/** RegisteredWatcher: a registration found in meta, with whether it is trusted now. */
export interface RegisteredWatcher extends WatcherIdentity {
  readonly drainedAtMs: number;
  readonly trusted: boolean;
}

/** registeredWatchers lists every registration, trusted or not (doctor shows both). */
export function registeredWatchers(meta: MetaStore, root: string): RegisteredWatcher[] {
  const rootId = rootIdOf(root);
  const out: RegisteredWatcher[] = [];
  for (const { key, value } of meta.withPrefix(KEY_PREFIX)) {
    const w = parseWatcherKey(key);
    if (!w) continue;
    const trusted = w.rootId === rootId && processStartTicks(w.pid) === w.startTicks;
    out.push({ ...w, drainedAtMs: Number(value), trusted });
  }
  return out;
}

/**
 * Vouch is how a store without its own inotify watch asks another process's
 * watcher to vouch for the index.
 */
export class Vouch {
  readonly #meta: MetaStore;
  readonly #root: string;
  readonly #dir: string;

  constructor(meta: MetaStore, root: string, indexPath: string) {
    this.#meta = meta;
    this.#root = root;
    this.#dir = vouchDirOf(indexPath);
  }

  /** drainedSince: true once a trusted watcher drained after sinceMs; undefined when there is none. */
  drainedSince(sinceMs: number): boolean | undefined {
    let any = false;
    for (const w of registeredWatchers(this.#meta, this.#root)) {
      if (!w.trusted || w.pid === process.pid) continue;
      if (w.drainedAtMs >= sinceMs) return true;
      any = true;
    }
    return any ? false : undefined;
  }

  /** wait waits up to WATCHER_WAIT_MS for a trusted watcher to vouch for sinceMs; false when none does. */
  async wait(sinceMs: number): Promise<boolean> {
    const state = { asked: false };
    for (;;) {
      const answer = this.#check(sinceMs, state);
      if (answer !== undefined) return answer;
      await sleep(POLL_MS);
    }
  }

  /** waitSync is wait for synchronous callers (resolve): it blocks at most WATCHER_WAIT_MS, only while a watcher lives. */
  waitSync(sinceMs: number): boolean {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const state = { asked: false };
    for (;;) {
      const answer = this.#check(sinceMs, state);
      if (answer !== undefined) return answer;
      Atomics.wait(cell, 0, 0, POLL_MS);
    }
  }

  /** #check is one round of waiting: the answer once there is one, undefined to wait a little longer. */
  #check(sinceMs: number, state: { asked: boolean }): boolean | undefined {
    const drained = this.drainedSince(sinceMs);
    if (drained !== false) return drained === true;
    if (!state.asked) state.asked = this.#ask();
    if (!state.asked || Date.now() > sinceMs + WATCHER_WAIT_MS) return false;
    return undefined;
  }

  /**
   * #ask touches the request file (IN_CLOSE_WRITE wakes the watchers); false
   * if it cannot: no watcher made the directory, a read-only user, or
   * something planted there (never followed, never blocked on).
   */
  #ask(): boolean {
    try {
      const fd = openRegular(
        "vouch request",
        `${this.#dir}/${REQUEST_FILE}`,
        fs.constants.O_WRONLY | fs.constants.O_CREAT,
      );
      if (fd === undefined) return false;
      fs.closeSync(fd);
      return true;
    } catch {
      return false;
    }
  }
}
