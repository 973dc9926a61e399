/**
 * Figure 4, whole processes timed from spawn to exit, interleaved run by run:
 * `runsc-index find PREFIX` against a runsc-style prefix lookup process (runsc
 * has no find), with `node -e ''` timed alongside: the target is a margin
 * over node's start-up. The root's index must be current. state and the
 * listings, against the real runsc, are in runsc.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript, type Command, cliScript, runTimed } from "../processes.js";
import { formatMicros, median } from "../stats.js";
import { prefixesOf } from "./resolve.js";

const FIND_RUNS = 30;
/** Issue 13: a whole-process find within this much of node's bare start-up. */
const FIND_TARGET_MS = 15;

/** The CLI when built; else the stand-in, labelled so in every row that uses it. */
function cli(): { script: string; note: string | undefined } {
  const script = cliScript();
  if (script) return { script, note: undefined };
  return {
    script: benchScript("cli-standin"),
    note: "dist/src/cli/main.cjs not built: measured bench/cli-standin.ts (openStore without inotify + resolve/list) instead",
  };
}

export type FindResult = { rows: FigureRow[]; oursMedianUs: number; runscMedianUs: number };

/** measureFind returns the find row and the `node -e ''` row. Throws if a process prints a wrong ID. */
export function measureFind(ctx: SizeContext): FindResult {
  const { script, note } = cli();
  const lookup = benchScript("runsc-lookup-process");
  const out = join(ctx.work, "find.out");
  const ours: number[] = [];
  const theirs: number[] = [];
  const bare: number[] = [];
  const nodeOnly: Command = { label: "node -e ''", argv: [process.execPath, "-e", ""] };
  const targets = prefixesOf(ctx, FIND_RUNS + 1);
  for (const [i, { prefix, id }] of targets.entries()) {
    const find: Command = {
      label: "runsc-index find",
      argv: [process.execPath, script, "--root", ctx.root, "find", prefix],
    };
    const runsc: Command = { label: "runsc-style lookup process", argv: [process.execPath, lookup, ctx.root, prefix] };
    const samples = [
      [find, ours],
      [runsc, theirs],
      [nodeOnly, bare],
    ] as const;
    for (const [cmd, into] of samples) {
      const us = runTimed(cmd, out);
      if (cmd !== nodeOnly && readFileSync(out, "utf8").trim() !== id) {
        throw new Error(`${cmd.label} of "${prefix}" printed "${readFileSync(out, "utf8").trim()}", want ${id}`);
      }
      if (i > 0) into.push(us); // the first round is the warm-up
    }
  }
  const oursUs = median(ours.sort((a, b) => a - b));
  const theirsUs = median(theirs.sort((a, b) => a - b));
  const nodeUs = median(bare.sort((a, b) => a - b));
  const ratio = ratioOf(oursUs, theirsUs);
  const rows: FigureRow[] = [
    {
      key: "find",
      figure: note ? "find PREFIX, whole process (STAND-IN, see note)" : "`runsc-index find PREFIX`, whole process",
      n: ctx.n,
      ours: { value: oursUs, unit: "us" },
      oursDetail: `median of ${FIND_RUNS}; ${formatMicros(oursUs - nodeUs)} above \`node -e ''\``,
      comparison: { label: "runsc-style lookup process (Node)", value: theirsUs, unit: "us" },
      nodeStart: { value: nodeUs, unit: "us" },
      ratio,
      target: `≤ \`node -e ''\` + ${FIND_TARGET_MS} ms`,
      met: oursUs - nodeUs <= FIND_TARGET_MS * 1000,
      notes: note ? [note] : [],
      profile: { label: "runsc-index find", args: [script, "--root", ctx.root, "find", targets[0]!.prefix] },
    },
    {
      key: "node-startup",
      figure: "`node -e ''` (start-up alone, for scale)",
      n: ctx.n,
      ours: { value: nodeUs, unit: "us" },
      oursDetail: `median of ${FIND_RUNS}`,
      target: "—",
    },
  ];
  return { rows, oursMedianUs: oursUs, runscMedianUs: theirsUs };
}
