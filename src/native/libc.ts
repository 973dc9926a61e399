/**
 * The only module that talks to libc through koffi: flock(2), inotify(7),
 * read(2) on a non-blocking fd, and sysconf(3). Node's standard library has
 * none of flock or inotify, and fs.watch drops events silently on overflow.
 *
 * Every function returns the raw result; errno is read right after the call,
 * before any other libc call can overwrite it.
 */
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { RunscIndexError } from "../errors.js";

type Koffi = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

interface Libc {
  readonly koffi: Koffi;
  readonly flock: Fn;
  readonly inotifyInit1: Fn;
  readonly inotifyAddWatch: Fn;
  readonly read: Fn;
  readonly close: Fn;
  readonly sysconf: Fn;
}

let bound: Libc | undefined;

/**
 * libc binds the functions on first use: loading koffi costs ~9 ms, which a
 * one-shot `runsc-index find` (no lock, no inotify) need not pay.
 */
function libc(): Libc {
  if (bound !== undefined) return bound;
  const koffi = createRequire(import.meta.url)("koffi") as Koffi;
  const { lib } = loadLibc(koffi);
  bound = {
    koffi,
    flock: lib.func("int flock(int fd, int operation)"),
    inotifyInit1: lib.func("int inotify_init1(int flags)"),
    inotifyAddWatch: lib.func("int inotify_add_watch(int fd, const char *pathname, uint32_t mask)"),
    read: lib.func("long read(int fd, _Out_ uint8_t *buf, size_t count)"),
    close: lib.func("int close(int fd)"),
    sysconf: lib.func("long sysconf(int name)"),
  };
  return bound;
}

// --- finding libc by name: glibc, then musl (Alpine) ---

/**
 * libcNames returns the names to dlopen, in order: glibc's soname, musl's
 * (`libc.musl-<arch>.so.1`, which Alpine links to its loader), then every
 * musl loader `/lib/ld-musl-*.so.1` in `libDirEntries` (musl's loader is its libc).
 */
export function libcNames(arch: string, libDirEntries: readonly string[]): string[] {
  const muslArch = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  const loaders = libDirEntries.filter((n) => /^ld-musl-.+\.so\.1$/.test(n)).map((n) => `/lib/${n}`);
  return ["libc.so.6", `libc.musl-${muslArch}.so.1`, ...loaders];
}

/**
 * loadLibc returns the first of libcNames that dlopen accepts, with its name.
 * /lib is listed only when glibc's name fails. Throws ERR_IO naming every name tried.
 */
export function loadLibc(koffi: Koffi): { lib: ReturnType<Koffi["load"]>; name: string } {
  const tried: string[] = [];
  for (const list of [() => libcNames(process.arch, []), () => libcNames(process.arch, listLib())]) {
    for (const name of list()) {
      if (tried.includes(name)) continue;
      tried.push(name);
      try {
        return { lib: koffi.load(name), name };
      } catch {
        // not this libc: try the next name
      }
    }
  }
  throw new RunscIndexError(
    "ERR_IO",
    `loading libc for flock and inotify: none of ${tried.join(", ")} could be loaded`,
  );
}

function listLib(): string[] {
  try {
    return readdirSync("/lib");
  } catch {
    return [];
  }
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export const EINTR = 4;
export const EAGAIN = 11; // == EWOULDBLOCK on Linux

export const IN_NONBLOCK = 0o4000;
export const IN_CLOEXEC = 0o2000000;

export const IN_CLOSE_WRITE = 0x8;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ISDIR = 0x40000000;

const SC_CLK_TCK = 2;

export interface SyscallResult {
  readonly result: number;
  readonly errno: number;
}

function call(fn: () => number): SyscallResult {
  for (;;) {
    const result = fn();
    if (result >= 0) return { result, errno: 0 };
    const errno = libc().koffi.errno();
    if (errno !== EINTR) return { result, errno };
  }
}

/** flock applies flock(2) to fd; retried on EINTR. */
export function flock(fd: number, operation: number): SyscallResult {
  return call(() => libc().flock(fd, operation) as number);
}

export function inotifyInit1(flags: number): SyscallResult {
  return call(() => libc().inotifyInit1(flags) as number);
}

export function inotifyAddWatch(fd: number, path: string, mask: number): SyscallResult {
  return call(() => libc().inotifyAddWatch(fd, path, mask) as number);
}

/** readInto reads up to buf.length bytes; result is the byte count or -1 with errno (EAGAIN when empty). */
export function readInto(fd: number, buf: Buffer): SyscallResult {
  return call(() => Number(libc().read(fd, buf, buf.length)));
}

export function closeFd(fd: number): SyscallResult {
  return call(() => libc().close(fd) as number);
}

/** clockTicksPerSecond is sysconf(_SC_CLK_TCK): the unit of /proc/<pid>/stat start times. */
export function clockTicksPerSecond(): number {
  const ticks = Number(libc().sysconf(SC_CLK_TCK));
  return ticks > 0 ? ticks : 100;
}

/** errnoName gives a readable name for the errnos we report. */
export function errnoName(errno: number): string {
  const names: Record<number, string> = {
    1: "EPERM",
    2: "ENOENT",
    9: "EBADF",
    11: "EAGAIN",
    22: "EINVAL",
    24: "EMFILE",
    28: "ENOSPC",
    37: "ENOLCK",
  };
  return names[errno] ?? `errno ${errno}`;
}
