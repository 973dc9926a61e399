/**
 * Listing a directory for a few names. readdir makes a string of every
 * entry: 200,000 of them in a root of 100,000 containers, about 300 ms and
 * most of it garbage, where a prefix lookup keeps a handful. Here the raw
 * getdents64(2) records are compared byte by byte and only matching names
 * are decoded (about 80 ms for the same root).
 */
import fs from "node:fs";
import { errnoName, readDirEntries } from "./libc.js";

/** Bytes read per getdents64 call: some 1,800 entries of runsc's length. */
export const BUFFER_BYTES = 256 * 1024;
/** linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), then the NUL-terminated name. */
export const RECLEN_AT = 16;
export const NAME_AT = 19;

/**
 * namesStartingWith returns the names of the entries of `dir` that start
 * with `start` (compared as UTF-8 bytes), in directory order. Throws what fs.openSync throws
 * (ENOENT, EACCES, ENOTDIR, with `code`), or an Error whose `code` is the
 * errno's name when reading fails.
 */
export function namesStartingWith(dir: string, start: string): string[] {
  const bytes = Buffer.from(start);
  return matchingNames(dir, (buf, at) => startsWith(buf, at, bytes));
}

/**
 * namesEndingWith returns the names of the entries of `dir` that end with
 * `suffix` (compared as UTF-8 bytes), in directory order: the state files of
 * a root without a string for each lock file. Throws as namesStartingWith.
 */
export function namesEndingWith(dir: string, suffix: string): string[] {
  const bytes = Buffer.from(suffix);
  return matchingNames(dir, (buf, at) => endsWith(buf, at, buf.indexOf(0, at), bytes));
}

/** A test of the NUL-terminated name at buf[at]. */
type NameTest = (buf: Buffer, at: number) => boolean;

function matchingNames(dir: string, test: NameTest): string[] {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return matchingEntries(fd, test);
  } finally {
    fs.closeSync(fd);
  }
}

function matchingEntries(fd: number, test: NameTest): string[] {
  const buf = Buffer.allocUnsafe(BUFFER_BYTES);
  const names: string[] = [];
  for (;;) {
    const { result: filled, errno } = readDirEntries(fd, buf);
    if (filled === 0) return names;
    if (filled < 0)
      throw Object.assign(new Error(`reading directory entries: ${errnoName(errno)}`), { code: errnoName(errno) });
    for (let at = 0; at < filled; at += buf.readUInt16LE(at + RECLEN_AT)) {
      const name = at + NAME_AT;
      if (!test(buf, name)) continue;
      const text = buf.toString("utf8", name, buf.indexOf(0, name));
      if (text !== "." && text !== "..") names.push(text);
    }
  }
}

function startsWith(buf: Buffer, at: number, start: Buffer): boolean {
  if (start.length > 0 && buf[at] !== start[0]) return false; // most entries differ at once
  return buf.compare(start, 0, start.length, at, at + start.length) === 0;
}

/** endsWith: the name at buf[at, end) (its NUL at end) ends with `suffix`. */
export function endsWith(buf: Buffer, at: number, end: number, suffix: Buffer): boolean {
  if (end - at < suffix.length || buf[end - 1] !== suffix[suffix.length - 1]) return false; // most differ at once
  return buf.compare(suffix, 0, suffix.length, end - suffix.length, end) === 0;
}

/**
 * inByteOrder sorts names as strcmp orders their UTF-8 bytes, the order
 * libuv gives readdir's names; for ASCII names that is JavaScript's own.
 */
export function inByteOrder(names: string[]): string[] {
  if (names.every((name) => !NOT_ASCII.test(name))) return names.sort();
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

const NOT_ASCII = /[^\x00-\x7f]/;
