/**
 * Issue 13: `runsc-index find` and `state` right after another process
 * created or removed a state file, with no watcher running, beside `runsc
 * state` at the same size (the Node stand-in without runsc). Before every
 * timed command, the harness moves one container's state and lock files out
 * of the root or back in with plain renames, as another runsc would create or
 * destroy one: the root's mtime changes, so the index's recorded name sync no
 * longer holds and a one-shot lookup must answer from a listing.
 */
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { lockFileName, stateFileName } from "../../src/ids/file-names.js";
import type { ContainerId, SandboxId } from "../../src/ids/id.js";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript, type Command, cliScript, runTimed } from "../processes.js";
import { median } from "../stats.js";
import { prefixesOf } from "./resolve.js";
import { NO_RUNSC_NOTE, realRunsc } from "./runsc.js";

function rounds(n: number): number {
  return n >= 100_000 ? 5 : 10;
}

/** Moves one container's files out of the root and back, alternately. */
class Mover {
  #out = false;
  readonly #names: string[];

  constructor(
    readonly root: string,
    readonly away: string,
    ids: { containerId: string; sandboxId: string },
  ) {
    const [cid, sid] = [ids.containerId as ContainerId, ids.sandboxId as SandboxId];
    this.#names = [stateFileName(cid, sid), lockFileName(cid, sid)];
  }

  toggle(): void {
    for (const name of this.#names) {
      const [from, to] = [join(this.root, name), join(this.away, name)];
      if (this.#out) renameSync(to, from);
      else renameSync(from, to);
    }
    this.#out = !this.#out;
  }

  /** restore puts the files back if they are out. */
  restore(): void {
    if (this.#out) this.toggle();
  }
}

/**
 * measureAfterForeignChange returns the find and state rows. The root's
 * index must be current when it starts; it is left with the same files.
 * Throws when a command prints a wrong answer.
 */
export function measureAfterForeignChange(ctx: SizeContext): FigureRow[] {
  const cli = cliScript();
  if (!cli) throw new Error("dist/src/cli/main.cjs is not built: run `npm run build` first");
  const runsc = realRunsc();
  const mover = new Mover(ctx.root, ctx.work, ctx.containers[ctx.prng.int(ctx.n)]!);
  const out = join(ctx.work, "foreign.out");
  const samples = { find: [] as number[], state: [] as number[], runsc: [] as number[] };
  try {
    for (const { prefix, id } of prefixesOf(ctx, rounds(ctx.n) + 1)) {
      const timed = (cmd: Command, into: number[], check: (text: string) => boolean) => {
        mover.toggle();
        const us = runTimed(cmd, out);
        const text = readFileSync(out, "utf8");
        if (!check(text)) throw new Error(`${cmd.label} of "${prefix}" printed "${text.slice(0, 200)}"`);
        into.push(us);
      };
      const isState = (text: string) => text.includes(`"id": "${id}"`);
      timed(
        { label: "runsc-index find", argv: [process.execPath, cli, "--root", ctx.root, "find", prefix] },
        samples.find,
        (t) => t.trim() === id,
      );
      timed(
        { label: "runsc-index state", argv: [process.execPath, cli, "--root", ctx.root, "state", id] },
        samples.state,
        isState,
      );
      const theirs = runsc
        ? { label: "runsc state", argv: [runsc, "--root", ctx.root, "state", id] }
        : {
            label: "runsc-style lookup process",
            argv: [process.execPath, benchScript("runsc-lookup-process"), ctx.root, id],
          };
      timed(theirs, samples.runsc, runsc ? isState : (t) => t.trim() === id);
    }
  } finally {
    mover.restore();
  }
  // The first round is the warm-up.
  const [find, state, theirs] = [samples.find, samples.state, samples.runsc].map((s) =>
    median(s.slice(1).sort((a, b) => a - b)),
  ) as [number, number, number];
  const comparison = {
    label: runsc ? "`runsc state ID`, same conditions" : "runsc-style lookup process (Node)",
    value: theirs,
    unit: "us" as const,
  };
  const row = (key: string, command: string, value: number): FigureRow => ({
    key,
    figure: `\`runsc-index ${command}\` right after another process created or removed a state file, no watcher`,
    n: ctx.n,
    ours: { value, unit: "us" },
    oursDetail: `median of ${rounds(ctx.n)}; each run follows a rename into or out of the root`,
    comparison,
    runsc: runsc ? { value: theirs, unit: "us" } : undefined,
    ratio: ratioOf(value, theirs),
    target: "≤ runsc state",
    met: value <= theirs,
    notes: runsc ? [] : [NO_RUNSC_NOTE],
  });
  return [row("find-after-change", "find PREFIX", find), row("state-after-change", "state ID", state)];
}
