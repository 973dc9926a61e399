/**
 * `runsc-index state`, `list` and `list --format=json` as whole processes,
 * each beside the real runsc (Debian's /usr/bin/runsc, release 20221219) on
 * the same root, with `node -e ''` timed in the same rounds for scale. The
 * generated sandboxes' PIDs are dead, so runsc decides liveness without an
 * RPC to any sandbox (signal 0 fails first). Before timing, both outputs are
 * compared byte for byte, modulo the differences listed in KNOWN_DIFFERENCES
 * (any other difference throws). runsc's stdout goes to a file, never a pipe.
 *
 * Without runsc installed, the comparisons are today's Node stand-ins
 * (bench/runsc-lookup-process.ts for state, bench/runsc-list-process.ts for
 * the listings), and every row says so.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { join } from "node:path";
import { type FigureRow, type Measure, ratioOf, type SizeContext } from "../figure.js";
import { benchScript, type Command, cliScript, runTimed } from "../processes.js";
import { formatMicros, median } from "../stats.js";

/** Where Debian's runsc package installs it. */
export const RUNSC_PATH = "/usr/bin/runsc";

/** realRunsc returns RUNSC_PATH when it is an executable file here, else undefined. */
export function realRunsc(): string | undefined {
  try {
    accessSync(RUNSC_PATH, constants.X_OK);
    return RUNSC_PATH;
  } catch {
    return undefined;
  }
}

export const NO_RUNSC_NOTE = `${RUNSC_PATH} is not installed (\`apt-get install runsc\`): compared with Node stand-ins of runsc's algorithms instead`;

/** A difference between runsc 20221219's output and ours that is known, explained, and someone else's to remove. */
type KnownDifference = {
  what: string;
  /** Whether the two outputs differ in this way. */
  present: (ours: string, theirs: string) => boolean;
  normalize: (text: string) => string;
};

const OCI_VERSION = /("ociVersion": ?)"[^"]*"/g;
const PAUSED = /"status": ?"paused"|^\S+ +\d+ +paused /gm;

function countOf(re: RegExp, text: string): number {
  return text.match(re)?.length ?? 0;
}

/**
 * Applied to both outputs alike, so the comparison still holds once ours
 * matches runsc's exactly (the interop branch selects runsc's ociVersion and
 * newline, and runsc's liveness rules, under which paused is not checked).
 */
const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    what: 'ociVersion ("1.0.2-dev" in runsc 20221219)',
    present: (a, b) => a.match(OCI_VERSION)?.[0] !== b.match(OCI_VERSION)?.[0],
    normalize: (t) => t.replace(OCI_VERSION, '$1"*"'),
  },
  {
    what: "no newline after `state`'s output in runsc 20221219",
    present: (a, b) => a.endsWith("\n") !== b.endsWith("\n"),
    normalize: (t) => t.replace(/\n$/, ""),
  },
  {
    what: "paused containers of dead sandboxes (runsc does not check paused: it prints paused and the PID; we print stopped, -1)",
    present: (a, b) => countOf(PAUSED, a) !== countOf(PAUSED, b),
    normalize: (t) =>
      t
        .replace(/"status": ?"paused",(\s*)"pid": ?\d+/g, (m) => m.replace("paused", "stopped").replace(/\d+$/, "-1"))
        .replace(/^(\S+ +)(\d+ +)paused( +)/gm, (_m, id: string, pid: string, pad: string) => {
          // The table's cells are padded to a minimum width of 12, wider than both forms.
          const cells = `${"-1".padEnd(pid.length)}stopped${pad.slice(1)}`;
          return id + cells;
        }),
  },
];

/** sameOutput compares ours with runsc's; returns the known differences that were present. Throws on any other. */
export function sameOutput(ours: string, theirs: string, label: string): string[] {
  if (ours === theirs) return [];
  const present: string[] = [];
  let a = ours;
  let b = theirs;
  for (const d of KNOWN_DIFFERENCES) {
    if (d.present(a, b)) present.push(d.what);
    a = d.normalize(a);
    b = d.normalize(b);
  }
  if (a !== b) {
    const at = firstDifference(a, b);
    throw new Error(
      `${label}: output differs from runsc's at byte ${at}: ours ${JSON.stringify(a.slice(at, at + 80))}, runsc ${JSON.stringify(b.slice(at, at + 80))}`,
    );
  }
  return present;
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

type Method = { label: string; argv: (extra: string[]) => string[] };

function runs(n: number): number {
  return n >= 100_000 ? 3 : n >= 10_000 ? 5 : 10;
}

/** maxRssMb runs a command once under /usr/bin/time and returns its peak RSS in MB; undefined without it. */
function maxRssMb(argv: readonly string[], work: string): number | undefined {
  const file = join(work, "rss.txt");
  try {
    accessSync("/usr/bin/time", constants.X_OK);
  } catch {
    return undefined;
  }
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", file, ...argv], { stdio: ["ignore", "ignore", "ignore"] });
  if (r.status !== 0) return undefined;
  return Number(readFileSync(file, "utf8").trim().split("\n").pop()) / 1024;
}

/**
 * timeInterleaved runs each command `rounds` times in turn (round 0 is a
 * warm-up when `warmup`), stdout to a file; returns the median µs of each.
 */
function timeInterleaved(cmds: readonly Command[], rounds: number, warmup: boolean, work: string): number[] {
  const samples = cmds.map(() => [] as number[]);
  for (let i = 0; i < rounds + (warmup ? 1 : 0); i++) {
    for (const [j, cmd] of cmds.entries()) {
      const us = runTimed(cmd, join(work, "timed.out"));
      if (!warmup || i > 0) samples[j]!.push(us);
    }
  }
  return samples.map((s) => median(s.sort((a, b) => a - b)));
}

/**
 * measureAgainstRunsc returns the rows for `state ID`, `list` and `list
 * --format=json`. Throws when an output differs from runsc's beyond the known
 * differences, or a process fails.
 */
export function measureAgainstRunsc(ctx: SizeContext): FigureRow[] {
  const cli = cliScript();
  if (!cli) throw new Error("dist/src/cli/main.cjs is not built: run `npm run build` first");
  const runsc = realRunsc();
  const ours: Method = { label: "runsc-index", argv: (extra) => [process.execPath, cli, "--root", ctx.root, ...extra] };
  const node: Command = { label: "node -e ''", argv: [process.execPath, "-e", ""] };
  const theirs: Method = runsc
    ? { label: "runsc 20221219", argv: (extra) => [runsc, "--root", ctx.root, ...extra] }
    : { label: "Node stand-in", argv: (extra) => standIn(ctx.root, extra) };
  const rows = [
    stateRow(ctx, ours, theirs, node, runsc !== undefined),
    listRow(ctx, ours, theirs, node, ["list"], runsc !== undefined),
    listRow(ctx, ours, theirs, node, ["list", "--format=json"], runsc !== undefined),
  ];
  if (!runsc) for (const r of rows) r.notes = [...(r.notes ?? []), NO_RUNSC_NOTE];
  return rows;
}

/** standIn: runsc's algorithms in Node, for when runsc is not installed (state: the lookup only). */
function standIn(root: string, extra: string[]): string[] {
  if (extra[0] === "state") return [process.execPath, benchScript("runsc-lookup-process"), root, extra[1]!];
  return [process.execPath, benchScript("runsc-list-process"), root];
}

const STATE_RUNS = 30;
const STATE_TARGET_MS = 25;

function stateRow(ctx: SizeContext, ours: Method, theirs: Method, node: Command, real: boolean): FigureRow {
  const id = ctx.containers[ctx.prng.int(ctx.n)]!.containerId;
  const oursCmd: Command = { label: `runsc-index state`, argv: ours.argv(["state", id]) };
  const theirsCmd: Command = { label: `${theirs.label} state`, argv: theirs.argv(["state", id]) };
  const known = real ? compareOnce(oursCmd, theirsCmd, ctx.work) : [];
  const [oursUs, theirsUs, nodeUs] = timeInterleaved([oursCmd, theirsCmd, node], STATE_RUNS, true, ctx.work) as [
    number,
    number,
    number,
  ];
  const above = oursUs - nodeUs;
  return {
    key: "state",
    figure: "`runsc-index state ID`, whole process, index current",
    n: ctx.n,
    ours: us(oursUs),
    oursDetail: `median of ${STATE_RUNS}; ${formatMicros(above)} above \`node -e ''\``,
    comparison: { label: real ? "`runsc state ID`" : "runsc-style lookup process (Node)", ...us(theirsUs) },
    runsc: real ? us(theirsUs) : undefined,
    nodeStart: us(nodeUs),
    ratio: ratioOf(oursUs, theirsUs),
    target: `≤ \`node -e ''\` + ${STATE_TARGET_MS} ms`,
    met: above <= STATE_TARGET_MS * 1000,
    notes: [sameNote(known, real)],
    profile: { label: "runsc-index state", args: oursCmd.argv.slice(1) },
  };
}

const LIST_RSS_TARGET_MB = 120;

function listRow(
  ctx: SizeContext,
  ours: Method,
  theirs: Method,
  node: Command,
  args: string[],
  real: boolean,
): FigureRow {
  const json = args.includes("--format=json");
  const oursCmd: Command = { label: `runsc-index ${args.join(" ")}`, argv: ours.argv(args) };
  const theirsCmd: Command = { label: `${theirs.label} ${args.join(" ")}`, argv: theirs.argv(args) };
  const known = real ? compareOnce(oursCmd, theirsCmd, ctx.work) : [];
  const rounds = runs(ctx.n);
  // At 100k one runsc list takes ~15 s: no warm-up round (tmpfs has no cold cache).
  const [oursUs, theirsUs, nodeUs] = timeInterleaved([oursCmd, theirsCmd, node], rounds, ctx.n < 100_000, ctx.work) as [
    number,
    number,
    number,
  ];
  const oursRss = maxRssMb(oursCmd.argv, ctx.work);
  const theirsRss = real ? maxRssMb(theirsCmd.argv, ctx.work) : undefined;
  const ratio = ratioOf(oursUs, theirsUs);
  const rssOk = ctx.n < 100_000 || (oursRss !== undefined && oursRss <= LIST_RSS_TARGET_MB);
  const rss = (mb: number | undefined) => (mb === undefined ? "?" : `${mb.toFixed(0)} MB`);
  return {
    key: json ? "list-json" : "list-table",
    figure: `\`runsc-index ${args.join(" ")}\`, fresh, whole process`,
    n: ctx.n,
    ours: us(oursUs),
    oursDetail: `median of ${rounds}; peak RSS ${rss(oursRss)}`,
    comparison: {
      label: real ? `\`runsc ${args.join(" ")}\`` : "locked load of every file, whole process (Node)",
      ...us(theirsUs),
      ...(real ? { detail: `peak RSS ${rss(theirsRss)}` } : {}),
    },
    runsc: real ? us(theirsUs) : undefined,
    nodeStart: us(nodeUs),
    ratio,
    target: `≤ 0.1x; peak RSS ≤ ${LIST_RSS_TARGET_MB} MB at 100,000`,
    met: ratio <= 0.1 && rssOk,
    notes: [sameNote(known, real)],
    profile: { label: `runsc-index ${args.join(" ")}`, args: oursCmd.argv.slice(1) },
  };
}

function us(value: number): Measure {
  return { value, unit: "us" };
}

/** compareOnce runs both commands once, stdout to files, and compares the outputs; returns the known differences seen. */
function compareOnce(ours: Command, theirs: Command, work: string): string[] {
  const [a, b] = [join(work, "ours.out"), join(work, "runsc.out")];
  runTimed(ours, a);
  runTimed(theirs, b);
  return sameOutput(readFileSync(a, "utf8"), readFileSync(b, "utf8"), ours.label);
}

function sameNote(known: readonly string[], real: boolean): string {
  if (!real) return "outputs not compared (no runsc here)";
  return known.length === 0
    ? "output identical to runsc's, byte for byte"
    : `output identical to runsc's except for known differences: ${known.join("; ")}`;
}
