/**
 * A urpc client for a runsc sandbox's control socket (gVisor pkg/urpc): the
 * client writes one JSON object `{"method", "arg"}`, the sandbox answers one
 * JSON object `{"success", "err", "result"}` (no newline after either), and
 * serves further calls on the same connection. Synchronous, on a
 * non-blocking socket with poll(2), every step bounded by a deadline.
 */
import fs from "node:fs";
import {
  AF_UNIX,
  closeFd,
  connectAddress,
  EAGAIN,
  POLLIN,
  POLLOUT,
  pollOne,
  readInto,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socketFd,
  writeFrom,
} from "../native/libc.js";

/**
 * How long one connection and call may take. runsc itself waits without a
 * limit; a sandbox that does not answer within this is reported stopped.
 */
export const CONTROL_TIMEOUT_MS = 2_000;

/** sockaddr_un's sun_path size on Linux. */
const UNIX_PATH_MAX = 108;
const O_PATH = 0o10000000;

export interface UrpcReply {
  readonly success: boolean;
  readonly err: string;
  readonly result: unknown;
}

/**
 * controlAddress is where runsc connects for this sandbox: `controlSocketPath`
 * from the state file when it has one (runsc since 2023-09), else 20221219's
 * abstract name "\0runsc-sandbox.<id>" plus the trailing NUL Go's
 * sockaddr adds, which is part of the name.
 */
export function controlAddress(sandboxId: string, controlSocketPath: string): { abstract: string } | { path: string } {
  return controlSocketPath === "" ? { abstract: `runsc-sandbox.${sandboxId}` } : { path: controlSocketPath };
}

/** A connection to one sandbox's control server. */
export class ControlConnection {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** open connects; returns an Error (never throws) when the sandbox cannot be reached. */
  static open(
    address: { abstract: string } | { path: string },
    timeoutMs = CONTROL_TIMEOUT_MS,
  ): ControlConnection | Error {
    const deadline = performance.now() + timeoutMs;
    const s = socketFd(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s.result < 0) return new Error(`socket: errno ${s.errno}`);
    const fd = s.result;
    let pathFd: number | undefined;
    try {
      let name: Buffer;
      if ("abstract" in address) {
        name = Buffer.concat([Buffer.from([0]), Buffer.from(address.abstract), Buffer.from([0])]);
      } else {
        let p = address.path;
        if (Buffer.byteLength(p) >= UNIX_PATH_MAX) {
          // Too long for sun_path: reach it through an O_PATH descriptor, as runsc does.
          pathFd = fs.openSync(p, O_PATH);
          p = `/proc/self/fd/${pathFd}`;
        }
        name = Buffer.concat([Buffer.from(p), Buffer.from([0])]);
      }
      const addr = Buffer.alloc(2 + name.length);
      addr.writeUInt16LE(AF_UNIX, 0);
      name.copy(addr, 2);
      for (;;) {
        const r = connectAddress(fd, addr);
        if (r.result === 0) return new ControlConnection(fd);
        // A full listen backlog answers EAGAIN on a non-blocking unix socket: wait a little and try again.
        if (r.errno !== EAGAIN || performance.now() > deadline) {
          closeFd(fd);
          return new Error(`connect: errno ${r.errno}`);
        }
        pollOne(-1, 0, 5);
      }
    } catch (e) {
      closeFd(fd);
      return e as Error;
    } finally {
      if (pathFd !== undefined) fs.closeSync(pathFd);
    }
  }

  /** call sends one urpc call and returns the reply, or an Error (timeout, closed, not JSON). */
  call(method: string, arg: unknown, timeoutMs = CONTROL_TIMEOUT_MS): UrpcReply | Error {
    if (this.#fd < 0) return new Error("connection closed");
    const deadline = performance.now() + timeoutMs;
    const sent = this.#writeAll(Buffer.from(JSON.stringify({ method, arg })), deadline);
    if (sent !== undefined) return this.#fail(sent);
    const buf = Buffer.alloc(4096);
    let text = "";
    for (;;) {
      const r = readInto(this.#fd, buf);
      if (r.result > 0) {
        text += buf.toString("utf8", 0, r.result);
        const reply = parseReply(text);
        if (reply !== undefined) return reply;
        continue;
      }
      if (r.result === 0) return this.#fail(new Error("connection closed by the sandbox"));
      if (r.errno !== EAGAIN) return this.#fail(new Error(`read: errno ${r.errno}`));
      const wait = this.#wait(POLLIN, deadline);
      if (wait !== undefined) return this.#fail(wait);
    }
  }

  /** close releases the socket. Idempotent. */
  close(): void {
    if (this.#fd >= 0) closeFd(this.#fd);
    this.#fd = -1;
  }

  #writeAll(data: Buffer, deadline: number): Error | undefined {
    for (let n = 0; n < data.length; ) {
      const r = writeFrom(this.#fd, data.subarray(n));
      if (r.result >= 0) {
        n += r.result;
        continue;
      }
      if (r.errno !== EAGAIN) return new Error(`write: errno ${r.errno}`);
      const wait = this.#wait(POLLOUT, deadline);
      if (wait !== undefined) return wait;
    }
    return undefined;
  }

  #wait(events: number, deadline: number): Error | undefined {
    const left = deadline - performance.now();
    if (left <= 0) return new Error("the sandbox did not answer in time");
    const p = pollOne(this.#fd, events, left);
    if (p.result < 0) return new Error(`poll: errno ${p.errno}`);
    return undefined; // ready, or timed out (the next round sees the deadline)
  }

  /** A connection in an unknown state is useless for further calls: close it. */
  #fail(e: Error): Error {
    this.close();
    return e;
  }
}

/** parseReply returns the reply once `text` holds a whole JSON object, undefined while it is incomplete. */
function parseReply(text: string): UrpcReply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<UrpcReply> | null;
  return { success: v?.success === true, err: typeof v?.err === "string" ? v.err : "", result: v?.result };
}
