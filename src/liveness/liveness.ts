/**
 * Liveness, two ways.
 *
 * runscStatus is what runsc 20221219's Load decides (runsc/container/
 * state_file.go): `created` is alive while kill(pid, 0) succeeds (a zombie
 * counts, EPERM does not); `running` is alive while kill(pid, 0) succeeds
 * AND the sandbox answers `containerManager.Signal` with signal 0 for this
 * container over its control socket (so an app container whose process
 * exited inside a live pod is `stopped`); `paused` and `stopped` are never
 * checked. Anything that fails means `stopped` (in memory only).
 *
 * strictLiveness is our stricter look at the sandbox process, on request
 * only: gone, a zombie, or a PID now used by a process that is not this
 * sandbox. Identity is read from /proc/<pid>/cmdline (runsc starts the
 * sandbox as `runsc-sandbox ... boot ... <sandbox ID>`), never from clocks:
 * a wall-clock step of any size cannot change the answer.
 */
import fs from "node:fs";
import { signalZero } from "../native/libc.js";
import type { Status } from "../state/status.js";
import { ControlConnection, controlAddress } from "./control-socket.js";

/** The sandbox process as strictLiveness sees it. */
export type Liveness = "alive" | "gone" | "zombie" | "reused";

export interface LivenessInput {
  readonly containerId: string;
  readonly sandboxId: string;
  /** Stored status. */
  readonly status: Status;
  /** `sandbox.pid`. */
  readonly pid: number;
}

/** LivenessCacheOptions: where to find a sandbox's control socket when the caller has not read it. */
export interface LivenessCacheOptions {
  /** Also run the strict check (strictLiveness) and report it beside runsc's answer. */
  readonly strict?: boolean;
  /**
   * controlSocketPath returns `sandbox.controlSocketPath` of a container's
   * state file ("" when it has none); asked once per live sandbox with a
   * running container, only when the caller's input lacks it.
   */
  readonly controlSocketPath?: (containerId: string, sandboxId: string) => string;
}

/**
 * LivenessCache shares work within one listing: one kill(pid, 0) per PID,
 * one /proc read per PID for the strict check, and one control connection
 * per sandbox (urpc serves many calls on a connection). close() it at the
 * end of the listing.
 */
export class LivenessCache {
  readonly #options: LivenessCacheOptions;
  readonly #pidAlive = new Map<number, boolean>();
  readonly #strict = new Map<string, Liveness>();
  readonly #connections = new Map<string, ControlConnection | Error>();

  constructor(options: LivenessCacheOptions = {}) {
    this.#options = options;
  }

  /** isStrict: the strict check was asked for. */
  get isStrict(): boolean {
    return this.#options.strict === true;
  }

  /** pidAlive is runsc's IsRunning: pid != 0 and kill(pid, 0) succeeds. */
  pidAlive(pid: number): boolean {
    let alive = this.#pidAlive.get(pid);
    if (alive === undefined) {
      alive = isRunning(pid);
      this.#pidAlive.set(pid, alive);
    }
    return alive;
  }

  /** signalZero asks the sandbox whether the container's process still exists; false on any error. */
  signalZero(c: LivenessInput, socketPath: string | undefined): boolean {
    let conn = this.#connections.get(c.sandboxId);
    if (conn === undefined) {
      const path = socketPath ?? this.#options.controlSocketPath?.(c.containerId, c.sandboxId) ?? "";
      conn = ControlConnection.open(controlAddress(c.sandboxId, path));
      this.#connections.set(c.sandboxId, conn);
    }
    if (conn instanceof Error) return false;
    const reply = conn.call("containerManager.Signal", { CID: c.containerId, Signo: 0, PID: 0, Mode: 0 });
    if (reply instanceof Error) {
      this.#connections.set(c.sandboxId, reply);
      return false;
    }
    return reply.success;
  }

  /** strict is strictLiveness, once per PID and sandbox. */
  strict(pid: number, sandboxId: string): Liveness {
    const key = `${pid}\0${sandboxId}`;
    let l = this.#strict.get(key);
    if (l === undefined) {
      l = strictLiveness(pid, sandboxId);
      this.#strict.set(key, l);
    }
    return l;
  }

  /** close closes the control connections. Idempotent; the cache stays usable (it reconnects). */
  close(): void {
    for (const conn of this.#connections.values()) if (!(conn instanceof Error)) conn.close();
    this.#connections.clear();
  }
}

/** isRunning is runsc's Sandbox.IsRunning: kill(pid, 0) succeeds. A zombie succeeds; EPERM and ESRCH fail. */
export function isRunning(pid: number): boolean {
  // kill(0 or -1, 0) would probe a group, not a process; runsc never calls it with pid 0 either.
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return false;
  return signalZero(pid);
}

/**
 * runscStatus returns the status runsc 20221219 reports for a container:
 * `socketPath` is `sandbox.controlSocketPath` when the caller has the
 * document, undefined to let the cache find it.
 */
export function runscStatus(c: LivenessInput, cache: LivenessCache, socketPath?: string): Status {
  switch (c.status) {
    case "created":
      return cache.pidAlive(c.pid) ? "created" : "stopped";
    case "running":
      return cache.pidAlive(c.pid) && cache.signalZero(c, socketPath) ? "running" : "stopped";
    default:
      return c.status;
  }
}

/**
 * strictStatus combines runsc's answer with the strict look at the sandbox
 * process: a created, running or paused container whose sandbox is gone, a
 * zombie or someone else is "stopped".
 */
export function strictStatus(status: Status, liveness: Liveness): Status {
  const live = status === "created" || status === "running" || status === "paused";
  return live && liveness !== "alive" ? "stopped" : status;
}

/**
 * strictLiveness says whether `pid` is still the sandbox `sandboxId`:
 * "gone" (no such process, or pid <= 0), "zombie" (exited, not reaped),
 * "reused" (a process whose command line is not runsc's sandbox for this
 * ID), else "alive". Reads /proc only.
 */
export function strictLiveness(pid: number, sandboxId: string): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return "gone";
  const state = readProcState(pid);
  if (state === undefined) return "gone";
  if (state === "Z" || state === "X" || state === "x") return "zombie";
  const argv = readCmdline(pid);
  if (argv === undefined) return "gone";
  return isSandboxCommand(argv, sandboxId) ? "alive" : "reused";
}

/**
 * isSandboxCommand: runsc starts the sandbox with argv[0] "runsc-sandbox",
 * a "boot" subcommand and the sandbox ID as the last argument (20221219 and
 * current releases).
 */
export function isSandboxCommand(argv: readonly string[], sandboxId: string): boolean {
  return (
    argv.length >= 3 &&
    argv[0]!.split("/").pop() === "runsc-sandbox" &&
    argv.includes("boot") &&
    argv[argv.length - 1] === sandboxId
  );
}

/**
 * procStatFields returns the fields of /proc/<pid>/stat after the command
 * name (so [0] is field 3, the state, and [19] field 22, the start time in
 * clock ticks); undefined when the process is gone.
 */
export function procStatFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain ") ": split after the last ")".
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** readProcState returns field 3 of /proc/<pid>/stat (R, S, Z, ...); undefined when the process is gone. */
export function readProcState(pid: number): string | undefined {
  return procStatFields(pid)?.[0] || undefined;
}

function readCmdline(pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return text.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}
