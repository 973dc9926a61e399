/**
 * native/syscalls.c, the addon libc.ts calls instead of koffi for flock,
 * close, getdents64, statx and kill: each answer is the kernel's, the same
 * as libc's through koffi (the reference), with util-linux flock(1) as the
 * other side of a lock, and a bad argument is refused without a call.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { loadAddon } from "../../src/native/addons.js";
import { LOCK_EX, LOCK_NB, LOCK_UN, loadLibc, STATX_BYTES, type Syscalls } from "../../src/native/libc.js";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";

afterEach(() => removeTempDirs());

const addon = loadAddon("syscalls") as Syscalls | null;
const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
const { lib } = loadLibc(koffi);
const libcGetdents64 = lib.func("long getdents64(int fd, _Out_ uint8_t *buf, size_t count)") as (
  fd: number,
  buf: Buffer,
  count: number,
) => number;

const EAGAIN = 11;
const EBADF = 9;
const ENOENT = 2;
const ESRCH = 3;
const EINVAL = 22;
const S_IFMT = 0o170000;

function native(): Syscalls {
  expect(addon, "build/Release/syscalls.node (npm ci builds it)").not.toBeNull();
  return addon!;
}

/** flockFree: util-linux flock(1) can take the lock at once. */
function flockFree(file: string): boolean {
  return spawnSync("flock", ["-n", "-x", file, "true"]).status === 0;
}

/** names in linux_dirent64 records: d_reclen at 16, d_name from 19 to its NUL. */
function recordNames(buf: Buffer, filled: number): string[] {
  const names: string[] = [];
  for (let at = 0; at < filled; at += buf.readUInt16LE(at + 16)) {
    const end = buf.indexOf(0, at + 19);
    names.push(buf.toString("utf8", at + 19, end));
  }
  return names;
}

describe("the syscalls addon", () => {
  test("flock: an exclusive lock excludes flock(1) and another open file, LOCK_UN frees it; close frees the fd once", () => {
    const calls = native();
    const file = path.join(makeTempDir(), "c_sandbox:s.lock");
    fs.writeFileSync(file, "");
    const fd = fs.openSync(file, "r");
    const other = fs.openSync(file, "r");
    expect(calls.flock(fd, LOCK_EX | LOCK_NB)).toBe(0);
    expect(flockFree(file)).toBe(false);
    expect(calls.flock(other, LOCK_EX | LOCK_NB)).toBe(-EAGAIN);
    expect(calls.flock(fd, LOCK_UN)).toBe(0);
    expect(flockFree(file)).toBe(true);
    expect(calls.flock(other, LOCK_EX)).toBe(0);
    expect(calls.close(other)).toBe(0); // closing the last fd of the open file drops its lock
    expect(flockFree(file)).toBe(true);
    expect(calls.close(other)).toBe(-EBADF);
    expect(calls.close(fd)).toBe(0);
    expect(calls.flock(fd, LOCK_EX)).toBe(-EBADF);
  });

  test("getdents64 fills the same records as libc's, every name of the directory, then 0 at its end", () => {
    const calls = native();
    const dir = makeTempDir();
    const names = ["a_sandbox:b.state", "a_sandbox:b.lock", "é-état", "x".repeat(255)];
    for (const name of names) fs.writeFileSync(path.join(dir, name), "");
    fs.mkdirSync(path.join(dir, "sub"));
    const ours = Buffer.alloc(64 * 1024);
    const theirs = Buffer.alloc(64 * 1024);
    const fd = fs.openSync(dir, "r");
    const fd2 = fs.openSync(dir, "r");
    try {
      const filled = calls.getdents64(fd, ours);
      expect(filled).toBeGreaterThan(0);
      expect(libcGetdents64(fd2, theirs, theirs.length)).toBe(filled);
      expect(ours.subarray(0, filled)).toEqual(theirs.subarray(0, filled));
      expect(recordNames(ours, filled).sort()).toEqual([".", "..", ...names, "sub"].sort());
      expect(calls.getdents64(fd, ours)).toBe(0);
      expect(calls.getdents64(-1, ours)).toBe(-EBADF);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(fd2);
    }
  });

  test("lstatAt is lstat's answer: a symlink is not followed, a missing name is ENOENT", () => {
    const calls = native();
    const dir = makeTempDir();
    fs.writeFileSync(path.join(dir, "file"), "x".repeat(1234));
    fs.symlinkSync("file", path.join(dir, "link"));
    const fd = fs.openSync(dir, "r");
    try {
      for (const name of ["file", "link"]) {
        const out = Buffer.alloc(STATX_BYTES);
        expect(calls.lstatAt(fd, Buffer.from(`${name}\0`), out)).toBe(0);
        const st = fs.lstatSync(path.join(dir, name), { bigint: true });
        expect(out.readUInt16LE(28) & S_IFMT, name).toBe(Number(st.mode) & S_IFMT);
        expect(out.readBigUInt64LE(32), name).toBe(st.ino);
        expect(out.readBigUInt64LE(40), name).toBe(st.size);
      }
      expect(calls.lstatAt(fd, Buffer.from("missing\0"), Buffer.alloc(STATX_BYTES))).toBe(-ENOENT);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("kill(pid, 0): 0 for a live process, ESRCH for an ended one", () => {
    const calls = native();
    expect(calls.kill(process.pid, 0)).toBe(0);
    const ended = spawnSync("true");
    expect(ended.pid).toBeGreaterThan(0);
    expect(calls.kill(ended.pid!, 0)).toBe(-ESRCH);
  });

  test("a bad argument is EINVAL, and no call is made", () => {
    const calls = native();
    const out = Buffer.alloc(STATX_BYTES);
    expect(calls.kill(2 ** 32 - 1, 0)).toBe(-EINVAL); // not wrapped to kill(-1, 0)
    expect(calls.kill(Number.NaN, 0)).toBe(-EINVAL); // not kill(0, 0), the caller's process group
    expect(calls.kill(1.5, 0)).toBe(-EINVAL);
    expect((calls.flock as (...a: unknown[]) => number)("3", LOCK_EX)).toBe(-EINVAL);
    expect((calls.getdents64 as (...a: unknown[]) => number)(0, [1, 2, 3])).toBe(-EINVAL);
    expect(calls.lstatAt(-100, Buffer.from("no NUL"), out)).toBe(-EINVAL);
    expect(calls.lstatAt(-100, Buffer.from("/\0"), Buffer.alloc(STATX_BYTES - 1))).toBe(-EINVAL);
    expect(calls.lstatAt(-100, Buffer.from("/\0"), out)).toBe(0);
  });
});
