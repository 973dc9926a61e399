/**
 * Figure 2: store.resolve in the parent while a child process (churn-child.ts)
 * creates and destroys 50 containers a second, runsc-style. Timed call by
 * call (each drains the store's inotify queue), and checked: a container the
 * child had finished creating before the call began, and had not begun to
 * destroy before it ended, must resolve; one the child had finished
 * destroying before the call began must give ERR_NOT_FOUND. Calls that
 * overlap a destroy may answer either way and are not judged.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { Store } from "../../src/index.js";
import { trackChild } from "../cleanup.js";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript } from "../processes.js";
import { formatCount, formatMicros, median, p99 } from "../stats.js";
import { PREFIX_LENGTH } from "./resolve.js";

const RATE_PER_S = 50;
const KEEP_ALIVE = 10;
const START_DEADLINE_MS = 20_000;

type Kind = "newest" | "alive" | "destroyed" | "existing";
type Call = { id: string; kind: Kind; t0: bigint; t1: bigint; found?: string; code?: string };
type Destroy = { start: bigint; done: bigint };

/** The child's reports as the parent has read them so far. */
class ChurnLog {
  readonly created = new Map<string, bigint>();
  readonly destroyed = new Map<string, Destroy>();
  readonly createdOrder: string[] = [];
  readonly destroyedOrder: string[] = [];
  stopping = false;
  done: { created: number; destroyed: number; late: number } | undefined;

  read(line: string): void {
    const [what, id, a, b] = line.split(" ");
    if (what === "created") {
      this.created.set(id!, BigInt(a!));
      this.createdOrder.push(id!);
    } else if (what === "destroyed") {
      this.destroyed.set(id!, { start: BigInt(a!), done: BigInt(b!) });
      this.destroyedOrder.push(id!);
    } else if (what === "stopping") {
      this.stopping = true;
    } else if (what === "done") {
      this.done = { created: Number(id), destroyed: Number(a), late: Number(b) };
    }
  }
}

/** verdict says what a call had to answer: "found", "not-found", or undefined when it overlapped a change. */
function verdict(call: Call, log: ChurnLog): "found" | "not-found" | undefined {
  if (call.kind === "existing") return "found";
  const created = log.created.get(call.id);
  const destroyed = log.destroyed.get(call.id);
  if (destroyed !== undefined && destroyed.done < call.t0) return "not-found";
  if (created !== undefined && created < call.t0 && (destroyed === undefined || destroyed.start > call.t1))
    return "found";
  return undefined;
}

function pickTarget(ctx: SizeContext, log: ChurnLog, i: number): { id: string; kind: Kind } {
  const kind = (["newest", "alive", "destroyed", "existing"] as const)[i % 4]!;
  const { createdOrder: made, destroyedOrder: gone } = log;
  if (kind === "newest") return { id: made[made.length - 1]!, kind };
  if (kind === "alive") return { id: made[Math.max(0, made.length - 1 - ctx.prng.int(KEEP_ALIVE))]!, kind };
  if (kind === "destroyed" && gone.length > 0) {
    return { id: gone[Math.max(0, gone.length - 1 - ctx.prng.int(4 * KEEP_ALIVE))]!, kind };
  }
  return { id: ctx.containers[ctx.prng.int(ctx.n)]!.containerId, kind: "existing" };
}

/**
 * measureChurn runs the child for `durationMs` and resolves in a loop,
 * yielding to the event loop between calls so the child's reports are read.
 * `quietMedianUs` is figure 1's median (no churn), shown for comparison.
 */
export async function measureChurn(
  ctx: SizeContext,
  store: Store,
  durationMs: number,
  quietMedianUs: number,
): Promise<FigureRow> {
  const child = trackChild(
    spawn(
      process.execPath,
      [
        benchScript("churn-child"),
        ctx.root,
        String(durationMs),
        String(ctx.n + 17),
        String(RATE_PER_S),
        String(KEEP_ALIVE),
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  const log = new ChurnLog();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  createInterface({ input: child.stdout }).on("line", (line) => log.read(line));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });

  const deadline = Date.now() + START_DEADLINE_MS;
  while (log.createdOrder.length === 0) {
    if (exitCode !== undefined) throw new Error(`churn child exited ${exitCode} before creating: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error("churn child created nothing within 20 s");
    await sleep(5);
  }

  const calls: Call[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; !log.stopping && exitCode === undefined; i++) {
    await nextTurn(); // lets the child's lines in
    const { id, kind } = pickTarget(ctx, log, i);
    const call: Call = { id, kind, t0: process.hrtime.bigint(), t1: 0n };
    try {
      call.found = store.resolve(id.slice(0, PREFIX_LENGTH)).containerId;
    } catch (e) {
      call.code = (e as { code?: string }).code ?? String(e);
    }
    call.t1 = process.hrtime.bigint();
    calls.push(call);
  }
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const code = await exited;
  if (code !== 0) throw new Error(`churn child exited ${code}: ${stderr.trim()}`);

  let judged = 0;
  const violations: string[] = [];
  for (const call of calls) {
    const want = verdict(call, log);
    if (want === undefined) continue;
    judged++;
    const ok = want === "found" ? call.found === call.id : call.code === "ERR_NOT_FOUND";
    if (!ok) violations.push(`${call.kind} ${call.id.slice(0, 12)}: want ${want}, got ${call.found ?? call.code}`);
  }
  // After the child destroyed everything it made, none of it may resolve.
  const last = log.createdOrder[log.createdOrder.length - 1]!;
  try {
    store.resolve(last.slice(0, PREFIX_LENGTH));
    violations.push(`after the churn: ${last.slice(0, 12)} still resolves`);
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_NOT_FOUND") throw e;
  }

  const samples = calls.map((c) => Number(c.t1 - c.t0) / 1000).sort((a, b) => a - b);
  const ours = median(samples);
  const made = log.done?.created ?? log.createdOrder.length;
  const notes = [
    `${formatCount(calls.length)} calls in ${elapsedS.toFixed(1)} s, ${formatCount(judged)} judged, ${violations.length} violations; ` +
      `child created ${made} and destroyed ${log.done?.destroyed ?? "?"} (${(made / elapsedS).toFixed(0)}/s, ${log.done?.late ?? "?"} late ticks)`,
    ...violations.slice(0, 5).map((v) => `violation: ${v}`),
  ];
  return {
    key: "resolve-churn",
    figure: `resolve while another process creates and destroys ${RATE_PER_S}/s`,
    n: ctx.n,
    ours: { value: ours, unit: "us" },
    oursDetail: `p99 ${formatMicros(p99(samples))}, ${violations.length} violations in ${formatCount(judged)} judged calls`,
    comparison: { label: "resolve with nothing changing (figure 1)", value: quietMedianUs, unit: "us" },
    ratio: ratioOf(ours, quietMedianUs),
    target: "median ≤ 200 µs, 0 violations",
    met: ours <= 200 && violations.length === 0,
    notes,
  };
}
