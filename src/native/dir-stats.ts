/**
 * Listing a directory with the lstat of each entry whose name ends with a
 * suffix, without a string per entry. An incremental pass over a root of
 * 100,000 containers needs the 100,000 state files' stats and none of the
 * 100,000 lock files: readdir made 200,000 strings (~30 MB) and lstat a
 * Stats object per file. Here the getdents64(2) records are read raw, the
 * matching names are copied into one buffer, and each is stat'ed in place
 * with statx(2) relative to the directory's fd.
 */
import fs from "node:fs";
import { BUFFER_BYTES, endsWith, NAME_AT, RECLEN_AT } from "./dir-names.js";
import { errnoName, hasStatx, lstatAt, readDirEntries, STATX_BYTES } from "./libc.js";

/** Numbers per entry in DirStats.stats: size, mtimeMs, ctimeMs, ino. */
export const DIR_STAT_FIELDS = 4;

/** The matching entries of a directory with their stats, by position (directory order). */
export interface DirStats {
  readonly count: number;
  /** Each entry's name as UTF-8, NUL-terminated, back to back. */
  readonly nameBytes: Buffer;
  /** Where entry i's name starts in nameBytes; nameStart[count] is where the last one ends. */
  readonly nameStart: Int32Array;
  /** Entry i's size, mtimeMs, ctimeMs and ino at i * DIR_STAT_FIELDS, as fs.lstat gives them; NaN when it was gone. */
  readonly stats: Float64Array;
}

/** nameOf decodes entry i's name as readdir would. */
export function nameOf(d: DirStats, i: number): string {
  return d.nameBytes.toString("utf8", d.nameStart[i]!, d.nameStart[i + 1]! - 1);
}

/** statsInPlace: libc has statx(2), so listWithStats stats each name in place (else by path, slower). */
export function statsInPlace(): boolean {
  return hasStatx();
}

const ENOENT = 2;

/** Called for each matching entry: its name's bytes are names[start, end) (NUL at end); its stats are stats[at, at + DIR_STAT_FIELDS). */
export type EntryVisitor = (names: Buffer, start: number, end: number, stats: Float64Array, at: number) => void;

/**
 * visitWithStats lists `dir` and lstats every entry whose name ends with
 * `suffix` (compared as UTF-8 bytes), handing each to `visit` while its name
 * lies in the listing buffer: nothing is kept. Returns how many entries
 * matched. Throws as listWithStats does.
 */
export function visitWithStats(dir: string, suffix: string, visit: EntryVisitor): number {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return visitEntries(dir, fd, Buffer.from(suffix), visit);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * listWithStats lists `dir` and lstats every entry whose name ends with
 * `suffix` (compared as UTF-8 bytes); `expected` is about how many match
 * (the buffers grow past it). Throws what fs.openSync throws (ENOENT,
 * EACCES, ENOTDIR, with `code`), or an Error whose `code` is the errno's
 * name when reading the directory or a stat fails (other than an entry gone
 * since the listing: NaN stats).
 */
export function listWithStats(dir: string, suffix: string, expected = 0): DirStats {
  const out = new Collected(expected);
  visitWithStats(dir, suffix, (names, start, end, stats) => out.add(names, start, end, stats));
  return out.finish();
}

function visitEntries(dir: string, fd: number, suffix: Buffer, visit: EntryVisitor): number {
  const buf = Buffer.allocUnsafe(BUFFER_BYTES);
  const stats = new Float64Array(DIR_STAT_FIELDS);
  const stat = statsInPlace() ? statxInPlace(dir, fd) : lstatByPath(dir);
  let count = 0;
  for (;;) {
    const { result: filled, errno } = readDirEntries(fd, buf);
    if (filled === 0) return count;
    if (filled < 0) throw errnoError(`reading directory entries of "${dir}"`, errno);
    for (let at = 0; at < filled; at += buf[at + RECLEN_AT]! | (buf[at + RECLEN_AT + 1]! << 8)) {
      const start = at + NAME_AT;
      const end = buf.indexOf(0, start);
      if (!endsWith(buf, start, end, suffix)) continue;
      stat(buf, start, stats, 0);
      visit(buf, start, end, stats, 0);
      count++;
    }
  }
}

type StatInto = (buf: Buffer, nameAt: number, stats: Float64Array, at: number) => void;

/** statxInPlace stats the name where it lies in the getdents buffer (it is NUL-terminated there). */
function statxInPlace(dir: string, fd: number): StatInto {
  const sx = new Uint8Array(STATX_BYTES);
  const u32 = new Uint32Array(sx.buffer);
  const i32 = new Int32Array(sx.buffer);
  return (buf, nameAt, stats, at) => {
    const errno = lstatAt(fd, new Uint8Array(buf.buffer, buf.byteOffset + nameAt), sx);
    if (errno !== 0) {
      if (errno !== ENOENT)
        throw errnoError(`lstat "${dir}/${buf.toString("utf8", nameAt, buf.indexOf(0, nameAt))}"`, errno);
      stats.fill(Number.NaN, at, at + DIR_STAT_FIELDS);
      return;
    }
    // struct statx: stx_ino at byte 32, stx_size at 40, stx_ctime at 96, stx_mtime at 112 (little-endian u32 halves).
    stats[at] = u64(u32, 10);
    stats[at + 1] = timeMs(u32, i32, 28);
    stats[at + 2] = timeMs(u32, i32, 24);
    stats[at + 3] = u64(u32, 8);
  };
}

/** lstatByPath: where libc has no statx, fs.lstatSync of the decoded name. */
function lstatByPath(dir: string): StatInto {
  return (buf, nameAt, stats, at) => {
    const name = buf.toString("utf8", nameAt, buf.indexOf(0, nameAt));
    const st = fs.lstatSync(`${dir}/${name}`, { throwIfNoEntry: false });
    if (st === undefined) stats.fill(Number.NaN, at, at + DIR_STAT_FIELDS);
    else stats.set([st.size, st.mtimeMs, st.ctimeMs, st.ino], at);
  };
}

/** u64 reads the unsigned 64-bit field at u32[i] as Node's Stats do (a double, rounded once). */
function u64(u32: Uint32Array, i: number): number {
  const high = u32[i + 1]!;
  if (high < 0x200000) return high * 2 ** 32 + u32[i]!;
  return Number((BigInt(high) << 32n) | BigInt(u32[i]!));
}

/** timeMs: the struct statx_timestamp at u32[i] (i64 seconds, u32 ns) in ms, computed as Node's Stats compute mtimeMs. */
function timeMs(u32: Uint32Array, i32: Int32Array, i: number): number {
  const high = i32[i + 1]!;
  const sec =
    high >= -0x200000 && high < 0x200000 ? high * 2 ** 32 + u32[i]! : Number((BigInt(high) << 32n) | BigInt(u32[i]!));
  return sec * 1000 + u32[i + 2]! / 1_000_000;
}

function errnoError(what: string, errno: number): Error {
  return Object.assign(new Error(`${what}: ${errnoName(errno)}`), { code: errnoName(errno) });
}

/** Collected: the growing buffers of listWithStats. */
class Collected {
  count = 0;
  nameBytes: Buffer;
  nameStart: Int32Array;
  stats: Float64Array;

  /** `expected` entries fit without growing (runsc's names are about 150 bytes). */
  constructor(expected: number) {
    const entries = Math.max(1024, Math.ceil(expected * 1.05));
    this.nameBytes = Buffer.allocUnsafe(entries * 152);
    this.nameStart = new Int32Array(entries + 1);
    this.stats = new Float64Array(entries * DIR_STAT_FIELDS);
  }

  /** add copies the name (with its NUL) and its stats. */
  add(buf: Buffer, start: number, end: number, stats: Float64Array): void {
    const i = this.count++;
    if (i * DIR_STAT_FIELDS >= this.stats.length) this.#growEntries();
    const from = this.nameStart[i]!;
    const to = from + end + 1 - start;
    if (to > this.nameBytes.length) this.#growNames(to);
    buf.copy(this.nameBytes, from, start, end + 1);
    this.nameStart[i + 1] = to;
    this.stats.set(stats, i * DIR_STAT_FIELDS);
  }

  #growEntries(): void {
    const starts = new Int32Array(this.stats.length / 2 + 1); // twice the entries, and the end
    starts.set(this.nameStart);
    this.nameStart = starts;
    const stats = new Float64Array(this.stats.length * 2);
    stats.set(this.stats);
    this.stats = stats;
  }

  #growNames(atLeast: number): void {
    const names = Buffer.allocUnsafe(Math.max(atLeast, this.nameBytes.length * 2));
    this.nameBytes.copy(names, 0, 0, this.nameStart[this.count - 1]);
    this.nameBytes = names;
  }

  finish(): DirStats {
    const n = this.count;
    return {
      count: n,
      nameBytes: this.nameBytes.subarray(0, this.nameStart[n]),
      nameStart: this.nameStart.subarray(0, n + 1),
      stats: this.stats.subarray(0, n * DIR_STAT_FIELDS),
    };
  }
}
