/**
 * A non-blocking inotify instance on one directory, through koffi. Draining
 * it costs one read(2) when nothing happened. The kernel queues an event
 * inside the syscall that made the change, so after a drain every change
 * completed before it is known; IN_Q_OVERFLOW says events were lost.
 */
import fs from "node:fs";
import { RunscIndexError } from "../errors.js";
import {
  closeFd,
  EAGAIN,
  EMFILE,
  ENOSPC,
  errnoName,
  IN_CLOEXEC,
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_DELETE,
  IN_DELETE_SELF,
  IN_IGNORED,
  IN_MOVE_SELF,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_NONBLOCK,
  IN_Q_OVERFLOW,
  inotifyAddWatch,
  inotifyInit1,
  readInto,
} from "../native/libc.js";

export const WATCH_MASK =
  IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;

export interface InotifyEvent {
  readonly mask: number;
  readonly name: string;
}

export interface Drained {
  readonly events: InotifyEvent[];
  /** The kernel queue overflowed: events were lost, rescan. */
  readonly overflow: boolean;
  /** The watched directory itself was deleted or moved: this watch is dead. */
  readonly gone: boolean;
}

/** struct inotify_event: int wd; uint32 mask, cookie, len; char name[len]. */
const HEADER_BYTES = 16;

export class DirectoryWatch {
  readonly dir: string;
  #fd: number;
  readonly #buf = Buffer.alloc(64 * 1024);

  /**
   * Throws ERR_IO when the directory cannot be watched (it does not exist),
   * naming the limit to raise when inotify capacity is exhausted.
   */
  constructor(dir: string, mask = WATCH_MASK) {
    this.dir = dir;
    const init = inotifyInit1(IN_NONBLOCK | IN_CLOEXEC);
    if (init.result < 0)
      throw new RunscIndexError("ERR_IO", `watching "${dir}": ${capacityHint("inotify_init1", init.errno)}`);
    this.#fd = init.result;
    const watch = inotifyAddWatch(this.#fd, dir, mask);
    if (watch.result < 0) {
      closeFd(this.#fd);
      throw new RunscIndexError("ERR_IO", `watching "${dir}": ${capacityHint("inotify_add_watch", watch.errno)}`);
    }
  }

  get fd(): number {
    return this.#fd;
  }

  /** drain reads every queued event without blocking. */
  drain(): Drained {
    const out = { events: [] as InotifyEvent[], overflow: false, gone: false };
    for (;;) {
      const { result, errno } = readInto(this.#fd, this.#buf);
      if (result < 0) {
        if (errno === EAGAIN) return out;
        throw new RunscIndexError("ERR_IO", `reading inotify events for "${this.dir}": ${errnoName(errno)}`);
      }
      parseEvents(this.#buf, result, out);
    }
  }

  close(): void {
    if (this.#fd >= 0) closeFd(this.#fd);
    this.#fd = -1;
  }
}

function parseEvents(
  buf: Buffer,
  length: number,
  out: { events: InotifyEvent[]; overflow: boolean; gone: boolean },
): void {
  for (let off = 0; off + HEADER_BYTES <= length; ) {
    const mask = buf.readUInt32LE(off + 4);
    const nameLen = buf.readUInt32LE(off + 12);
    const nameBytes = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + nameLen);
    const nul = nameBytes.indexOf(0);
    const name = nameBytes.toString("utf8", 0, nul < 0 ? nameLen : nul);
    off += HEADER_BYTES + nameLen;
    if (mask & IN_Q_OVERFLOW) out.overflow = true;
    else if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) out.gone = true;
    else out.events.push({ mask, name });
  }
}

/**
 * capacityHint words a failed inotify call; for exhausted capacity it names
 * the real cause and the sysctl (or limit) to raise.
 */
export function capacityHint(call: string, errno: number): string {
  if (errno === EMFILE) {
    return `${call}: EMFILE: too many inotify instances (raise fs.inotify.max_user_instances, now ${sysctl("max_user_instances")}: sysctl -w fs.inotify.max_user_instances=N) or open files (ulimit -n)`;
  }
  if (errno === ENOSPC && call === "inotify_add_watch") {
    return `${call}: ENOSPC: inotify watches exhausted (raise fs.inotify.max_user_watches, now ${sysctl("max_user_watches")}: sysctl -w fs.inotify.max_user_watches=N)`;
  }
  return `${call}: ${errnoName(errno)}`;
}

function sysctl(name: string): string {
  try {
    return fs.readFileSync(`/proc/sys/fs/inotify/${name}`, "utf8").trim();
  } catch {
    return "unknown";
  }
}

export const CHANGED_MASK = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE;
export const REMOVED_MASK = IN_DELETE | IN_MOVED_FROM;
