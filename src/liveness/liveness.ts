/**
 * Liveness of a sandbox process, from /proc/<pid>/stat.
 *
 * runsc itself only asks the sandbox over its control socket, then falls back
 * to kill(pid, 0), so a reused PID makes a dead sandbox look alive. We also
 * check the process start time (as runc does): a process that started after
 * the sandbox must have existed cannot be that sandbox.
 */
import fs from "node:fs";
import { clockTicksPerSecond } from "../native/libc.js";

export type Liveness = "alive" | "gone" | "zombie" | "reused";

/**
 * The sandbox process is started by `runsc create` shortly after the recorded
 * startTime (or the root container's createdAt). A process that started more
 * than this much later is a different process that reused the PID. Generous
 * because sandbox boot can take seconds on a loaded host, while PID reuse
 * within seconds of a create is all but impossible (pid_max is 4M).
 */
export const DEFAULT_START_TOLERANCE_MS = 5_000;

let ticksPerSecond: number | undefined;

/**
 * sandboxLiveness reports whether `pid` can still be the sandbox that was
 * started at `startedAtMs` (epoch ms; NaN when unknown: no start-time check).
 */
export function sandboxLiveness(pid: number, startedAtMs: number, toleranceMs = DEFAULT_START_TOLERANCE_MS): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return "gone";
  const stat = readProcStat(pid);
  if (stat === undefined) return "gone";
  if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return "zombie";
  if (Number.isFinite(startedAtMs) && processStartMs(stat.startTicks) > startedAtMs + toleranceMs) return "reused";
  return "alive";
}

interface ProcStat {
  readonly state: string;
  readonly startTicks: number;
}

/** readProcStat parses /proc/<pid>/stat; undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  const file = `/proc/${pid}/stat`;
  // Most listed sandboxes are long dead: existsSync answers without the cost of a thrown ENOENT.
  if (!fs.existsSync(file)) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, "latin1");
  } catch {
    return undefined; // exited in between
  }
  // The command name (field 2) is in parentheses and may itself contain ") ",
  // so split after the last ")". Then field 3 is the state, field 22 starttime.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = rest[0];
  const startTicks = Number(rest[19]);
  if (state === undefined || !Number.isFinite(startTicks)) return undefined;
  return { state, startTicks };
}

/** processStartMs turns a start time in clock ticks since boot into epoch ms. */
export function processStartMs(startTicks: number): number {
  ticksPerSecond ??= clockTicksPerSecond();
  // Uptime has 10 ms resolution, better than /proc/stat's btime (whole seconds).
  const uptimeSeconds = Number(fs.readFileSync("/proc/uptime", "latin1").split(" ")[0]);
  const ageMs = (uptimeSeconds - startTicks / ticksPerSecond) * 1000;
  return Date.now() - ageMs;
}

/**
 * parseGoTimeMs parses Go's RFC3339Nano (`2026-08-12T14:03:27.418862107Z`)
 * to epoch ms; NaN for "" or anything else.
 */
export function parseGoTimeMs(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return Number.NaN;
  const millis = m[2] ? m[2].slice(0, 4).padEnd(4, "0") : "";
  return Date.parse(`${m[1]}${millis}${m[3]}`);
}

export interface LivenessInput {
  readonly status: string;
  readonly pid: number;
  /** sandbox.startTime, or "" in files older than 2024-07. */
  readonly startTime: string;
  /** createdAt of the sandbox's root container (or of this container when unknown). */
  readonly rootCreatedAt: string;
}

const LIVE = new Set(["created", "running", "paused"]);

/**
 * checkedStatus is runsc's Load without SkipCheck: a created, running or
 * paused container whose sandbox is gone, a zombie or a reused PID is
 * "stopped" (in memory only; the file is never changed).
 */
export function checkedStatus(
  c: LivenessInput,
  cache?: Map<string, Liveness>,
): { status: string; liveness?: Liveness } {
  if (!LIVE.has(c.status)) return { status: c.status };
  const startedAt = parseGoTimeMs(c.startTime || c.rootCreatedAt);
  const key = `${c.pid}@${startedAt}`;
  let liveness = cache?.get(key);
  if (liveness === undefined) {
    liveness = sandboxLiveness(c.pid, startedAt);
    cache?.set(key, liveness);
  }
  return { status: liveness === "alive" ? c.status : "stopped", liveness };
}
