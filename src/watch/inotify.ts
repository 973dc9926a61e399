/**
 * A non-blocking inotify instance on one directory, through koffi. Draining
 * it costs one read(2) when nothing happened. The kernel queues an event
 * inside the syscall that made the change, so after a drain every change
 * completed before it is known; IN_Q_OVERFLOW says events were lost.
 */
import { RunscIndexError } from "../errors.js";
import {
  closeFd,
  EAGAIN,
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
  /** Events were lost (queue overflow) or the directory itself went away: rescan. */
  readonly lost: boolean;
}

/** struct inotify_event: int wd; uint32 mask, cookie, len; char name[len]. */
const HEADER_BYTES = 16;

export class DirectoryWatch {
  readonly dir: string;
  #fd: number;
  readonly #buf = Buffer.alloc(64 * 1024);

  /** Throws ERR_IO when the directory cannot be watched (e.g. it does not exist). */
  constructor(dir: string) {
    this.dir = dir;
    const init = inotifyInit1(IN_NONBLOCK | IN_CLOEXEC);
    if (init.result < 0) throw new RunscIndexError("ERR_IO", `inotify_init1: ${errnoName(init.errno)}`);
    this.#fd = init.result;
    const watch = inotifyAddWatch(this.#fd, dir, WATCH_MASK);
    if (watch.result < 0) {
      closeFd(this.#fd);
      throw new RunscIndexError("ERR_IO", `watching "${dir}": inotify_add_watch: ${errnoName(watch.errno)}`);
    }
  }

  get fd(): number {
    return this.#fd;
  }

  /** drain reads every queued event without blocking. */
  drain(): Drained {
    const events: InotifyEvent[] = [];
    let lost = false;
    for (;;) {
      const { result, errno } = readInto(this.#fd, this.#buf);
      if (result < 0) {
        if (errno === EAGAIN) return { events, lost };
        throw new RunscIndexError("ERR_IO", `reading inotify events for "${this.dir}": ${errnoName(errno)}`);
      }
      lost = parseEvents(this.#buf, result, events) || lost;
    }
  }

  close(): void {
    if (this.#fd >= 0) closeFd(this.#fd);
    this.#fd = -1;
  }
}

function parseEvents(buf: Buffer, length: number, out: InotifyEvent[]): boolean {
  let lost = false;
  for (let off = 0; off + HEADER_BYTES <= length; ) {
    const mask = buf.readUInt32LE(off + 4);
    const nameLen = buf.readUInt32LE(off + 12);
    const nameBytes = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + nameLen);
    const nul = nameBytes.indexOf(0);
    const name = nameBytes.toString("utf8", 0, nul < 0 ? nameLen : nul);
    off += HEADER_BYTES + nameLen;
    if (mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) lost = true;
    else out.push({ mask, name });
  }
  return lost;
}

export const CHANGED_MASK = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE;
export const REMOVED_MASK = IN_DELETE | IN_MOVED_FROM;
