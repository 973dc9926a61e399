/**
 * The only module that makes system calls Node has no function for:
 * flock(2), inotify(7), read(2) on a non-blocking fd, getdents64(2),
 * statx(2), kill(2), unix sockets, and a datagram for sd_notify(3). Node's
 * standard library has none of flock or inotify, and fs.watch drops events
 * silently on overflow.
 *
 * The calls a one-shot command makes (flock and close for `state`;
 * getdents64, statx and kill for `list`) go through our syscalls addon
 * (native/syscalls.c) when it was built: loading koffi costs ~14 ms a
 * start. Everything else, and those too without the addon, goes to libc
 * through koffi. Every function returns the raw result; errno is read
 * right after the call, before any other libc call can overwrite it.
 */
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { RunscIndexError } from "../errors.js";
import { lazyProperties } from "../lazy.js";
import { loadAddon } from "./addons.js";

type Koffi = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

interface Libc {
  readonly koffi: Koffi;
  readonly flock: Fn;
  readonly inotifyInit1: Fn;
  readonly inotifyAddWatch: Fn;
  readonly read: Fn;
  readonly close: Fn;
  readonly socket: Fn;
  readonly connect: Fn;
  readonly write: Fn;
  readonly poll: Fn;
  readonly kill: Fn;
  readonly sendto: Fn;
  readonly exit: Fn;
  readonly syscall3: Fn;
  readonly eventfd: Fn;
  readonly getdents64: Fn;
  /** undefined where libc has no statx (glibc before 2.28, older musl): callers lstat by path instead. */
  readonly statx: Fn | undefined;
}

let bound: Libc | undefined;

/** native/syscalls.c: each call (close aside) retried on EINTR, answering a count or 0, or -errno. */
export interface Syscalls {
  flock(fd: number, operation: number): number;
  close(fd: number): number;
  kill(pid: number, signal: number): number;
  getdents64(fd: number, buf: Uint8Array): number;
  lstatAt(dirFd: number, name: Uint8Array, out: Uint8Array): number;
}

let addon: Syscalls | null | undefined;

/** syscalls: the addon, or null when it was not built (koffi then makes its calls too). */
function syscalls(): Syscalls | null {
  addon ??= loadAddon("syscalls") as Syscalls | null;
  return addon;
}

/** fromAddon turns the addon's answer (a count, or -errno) into a SyscallResult. */
function fromAddon(answer: number): SyscallResult {
  return answer < 0 ? { result: -1, errno: -answer } : { result: answer, errno: 0 };
}

/**
 * libc loads koffi and libc on first use, and binds each function on its
 * first call: loading koffi costs ~14 ms, which a one-shot `find` never
 * pays, nor a `state` or `list` where the syscalls addon was built.
 */
function libc(): Libc {
  if (bound !== undefined) return bound;
  const koffi = createRequire(import.meta.url)("koffi") as Koffi;
  const { lib } = loadLibc(koffi);
  const bind = (prototype: string) => () => lib.func(prototype) as Fn;
  bound = lazyProperties({
    koffi: () => koffi,
    flock: bind("int flock(int fd, int operation)"),
    inotifyInit1: bind("int inotify_init1(int flags)"),
    inotifyAddWatch: bind("int inotify_add_watch(int fd, const char *pathname, uint32_t mask)"),
    read: bind("long read(int fd, _Out_ uint8_t *buf, size_t count)"),
    close: bind("int close(int fd)"),
    socket: bind("int socket(int domain, int type, int protocol)"),
    connect: bind("int connect(int fd, const uint8_t *addr, uint32_t addrlen)"),
    write: bind("long write(int fd, const uint8_t *buf, size_t count)"),
    poll: bind("int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)"),
    kill: bind("int kill(int pid, int sig)"),
    sendto: bind(
      "long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)",
    ),
    exit: bind("void _exit(int status)"),
    syscall3: bind("long syscall(long number, long a, long b)"),
    eventfd: bind("int eventfd(unsigned int initval, int flags)"),
    getdents64: () => bindGetdents64(lib),
    statx: () =>
      bindOptional(lib, "int statx(int dirfd, const uint8_t *path, int flags, unsigned int mask, _Out_ uint8_t *buf)"),
  });
  return bound;
}

/** glibc (2.30 on) names it getdents64; musl's getdents is the same call (its dirent is always 64-bit). */
function bindGetdents64(lib: ReturnType<Koffi["load"]>): Fn {
  try {
    return lib.func("long getdents64(int fd, _Out_ uint8_t *buf, size_t count)");
  } catch {
    return lib.func("long getdents(int fd, _Out_ uint8_t *buf, size_t count)");
  }
}

function bindOptional(lib: ReturnType<Koffi["load"]>, signature: string): Fn | undefined {
  try {
    return lib.func(signature);
  } catch {
    return undefined;
  }
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
export const ESRCH = 3;
export const EMFILE = 24;
export const ENOSPC = 28;

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
  const native = syscalls();
  return native ? fromAddon(native.flock(fd, operation)) : call(() => libc().flock(fd, operation) as number);
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
  const native = syscalls();
  return native ? fromAddon(native.close(fd)) : call(() => libc().close(fd) as number);
}

/**
 * exitNow ends the process with status at once (_exit(2)): Node's own exit
 * waits for every worker thread, and one stuck in a native call never ends.
 */
export function exitNow(status: number): never {
  libc().exit(status);
  throw new Error("_exit returned");
}

/**
 * readDirEntries fills buf with the next linux_dirent64 records of the
 * directory open at fd; result is the byte count, 0 at its end, or -1 with errno.
 */
export function readDirEntries(fd: number, buf: Buffer): SyscallResult {
  const native = syscalls();
  return native ? fromAddon(native.getdents64(fd, buf)) : call(() => Number(libc().getdents64(fd, buf, buf.length)));
}

/** Bytes of a struct statx (the kernel's, the same on every architecture). */
export const STATX_BYTES = 256;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;

const AT_FDCWD = -100;
const ENOSYS = 38;

let addonHasStatx: boolean | undefined;

/** hasStatx: statx(2) can be called (the kernel has it for the addon, libc has it for koffi), so lstatAt can be. */
export function hasStatx(): boolean {
  const native = syscalls();
  if (native === null) return libc().statx !== undefined;
  addonHasStatx ??= native.lstatAt(AT_FDCWD, Buffer.from("/\0"), Buffer.alloc(STATX_BYTES)) !== -ENOSYS;
  return addonHasStatx;
}

/**
 * lstatAt is statx(2) of the entry named by the NUL-terminated bytes at the
 * start of `name`, relative to the directory open at `dirFd`, without
 * following a symlink (lstat's answer), into `out` (STATX_BYTES). The name
 * is passed in place: no string, no copy. Returns 0, or the errno. Called
 * once per state file of a pass, so without the result object of the other
 * calls here. Call only when hasStatx().
 */
export function lstatAt(dirFd: number, name: Uint8Array, out: Uint8Array): number {
  const native = syscalls();
  if (native) return fromAddon(native.lstatAt(dirFd, name, out)).errno;
  const statx = libc().statx!;
  for (;;) {
    if ((statx(dirFd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, out) as number) === 0) return 0;
    const errno = libc().koffi.errno();
    if (errno !== EINTR) return errno;
  }
}

/** errnoName gives a readable name for the errnos we report. */
export function errnoName(errno: number): string {
  const names: Record<number, string> = {
    1: "EPERM",
    2: "ENOENT",
    13: "EACCES",
    20: "ENOTDIR",
    9: "EBADF",
    11: "EAGAIN",
    22: "EINVAL",
    24: "EMFILE",
    28: "ENOSPC",
    36: "ENAMETOOLONG",
    37: "ENOLCK",
    3: "ESRCH",
    111: "ECONNREFUSED",
    110: "ETIMEDOUT",
  };
  return names[errno] ?? `errno ${errno}`;
}

// --- Unix sockets and kill(2): runsc's liveness check (src/liveness/control-socket.ts) ---
// Node's net module cannot reach runsc 20221219's control socket: its abstract
// name ends in a NUL byte that is part of the name, and net drops it.

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;

/** socketFd is socket(2); result is the fd or -1 with errno. */
export function socketFd(domain: number, type: number): SyscallResult {
  return call(() => libc().socket(domain, type, 0) as number);
}

/** connectAddress is connect(2) with a raw sockaddr of exactly addr.length bytes. */
export function connectAddress(fd: number, addr: Buffer): SyscallResult {
  return call(() => libc().connect(fd, addr, addr.length) as number);
}

/** writeFrom writes up to buf.length bytes; result is the byte count or -1 with errno (EAGAIN when full). */
export function writeFrom(fd: number, buf: Buffer): SyscallResult {
  return call(() => Number(libc().write(fd, buf, buf.length)));
}

/** pollOne waits up to timeoutMs for `events` on fd; result is 1 with the revents, 0 on timeout, -1 with errno. */
export function pollOne(fd: number, events: number, timeoutMs: number): SyscallResult & { revents: number } {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  const r = call(() => libc().poll(pfd, 1, Math.max(0, Math.round(timeoutMs))) as number);
  return { ...r, revents: pfd.readInt16LE(6) };
}

/**
 * signalZero is kill(pid, 0) == 0, runsc's IsRunning probe. Through libc
 * rather than process.kill, which throws for every dead PID: ~20 us each,
 * seconds for a listing of 100k containers.
 */
export function signalZero(pid: number): boolean {
  const native = syscalls();
  return (native ? native.kill(pid, 0) : (libc().kill(pid, 0) as number)) === 0;
}

// --- sd_notify(3): one datagram to $NOTIFY_SOCKET (node's dgram has no unix sockets) ---

const SOCK_DGRAM = 2;
/** sizeof(sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/**
 * sendUnixDatagram sends `message` to the unix datagram socket at `address`
 * ("@name" is Linux's abstract namespace, as systemd writes it). Returns
 * errno, 0 on success (ENAMETOOLONG for a path that does not fit).
 */
export function sendUnixDatagram(address: string, message: string): number {
  const name = Buffer.from(address.startsWith("@") ? `\0${address.slice(1)}` : `${address}\0`);
  if (name.length > SUN_PATH_MAX) return 36; // ENAMETOOLONG
  const sockaddr = Buffer.alloc(2 + name.length);
  sockaddr.writeUInt16LE(AF_UNIX, 0);
  name.copy(sockaddr, 2);
  const fd = call(() => libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number);
  if (fd.result < 0) return fd.errno;
  try {
    const body = Buffer.from(message);
    return call(() => Number(libc().sendto(fd.result, body, body.length, 0, sockaddr, sockaddr.length))).errno;
  } finally {
    closeFd(fd.result);
  }
}

// --- Watching processes and waking a poller: pidfd_open(2), poll(2), eventfd(2). ---
// Bound with the rest of libc, found by name (glibc or musl) as the other blocks are.

const SYS_PIDFD_OPEN = 434; // x86-64 and arm64 alike
/** struct pollfd: int fd; short events; short revents. */
export const POLLFD_BYTES = 8;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/** pidfdOpen returns a pidfd (readable once the process exits), or -1 with ESRCH when it is gone. */
export function pidfdOpen(pid: number): SyscallResult {
  return call(() => Number(libc().syscall3(SYS_PIDFD_OPEN, pid, 0)));
}

/** pollFds is poll(2) on a buffer of struct pollfd; blocks (timeout -1) until one is ready. */
export function pollFds(fds: Buffer, count: number, timeoutMs: number): SyscallResult {
  return call(() => libc().poll(fds, count, timeoutMs) as number);
}

/** eventfdCreate returns a non-blocking eventfd: a counter another thread writes to wake a poll. */
export function eventfdCreate(): SyscallResult {
  return call(() => libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) as number);
}

const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** eventfdSignal adds 1 to an eventfd, waking whoever polls it. */
export function eventfdSignal(fd: number): SyscallResult {
  return call(() => Number(libc().write(fd, ONE, 8)));
}
