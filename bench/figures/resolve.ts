/**
 * Figure 1: store.resolve in process with the index current, against runsc's
 * method (bench/baselines.ts runscPrefixLookup) on the same directory.
 */
import type { Store } from "../../src/index.js";
import { runscPrefixLookup } from "../baselines.js";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript } from "../processes.js";
import { formatMicros, median, p99, sampleWithin } from "../stats.js";

/** The short form docker and crictl print. */
export const PREFIX_LENGTH = 12;
const RESOLVE_SAMPLES = 20_000;
const ROUNDS = 5;
// runsc's lookup lists (and sorts) the whole directory: ~0.5 s at 100k.
const RUNSC_BUDGET_MS_PER_ROUND = 800;
const RUNSC_MAX_PER_ROUND = 40;

export type ResolveResult = { row: FigureRow; oursMedianUs: number; runscMedianUs: number };

/** prefixesOf returns `count` 12-character prefixes of random existing container IDs, with the ID each names. */
export function prefixesOf(ctx: SizeContext, count: number): { prefix: string; id: string }[] {
  return Array.from({ length: count }, () => {
    const id = ctx.containers[ctx.prng.int(ctx.n)]!.containerId;
    return { prefix: id.slice(0, PREFIX_LENGTH), id };
  });
}

/**
 * measureResolve times store.resolve one call at a time, and runsc's lookup,
 * in interleaved rounds. `store` must be open on ctx.root and reconciled.
 * Throws if either method names a wrong container.
 */
export function measureResolve(ctx: SizeContext, store: Store): ResolveResult {
  const lookups = prefixesOf(ctx, RESOLVE_SAMPLES);
  for (const { prefix } of lookups.slice(0, 1000)) store.resolve(prefix); // warm-up: JIT, page cache
  const ours: number[] = [];
  const theirs: number[] = [];
  const perRound = RESOLVE_SAMPLES / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    for (const { prefix, id } of lookups.slice(round * perRound, (round + 1) * perRound)) {
      const start = process.hrtime.bigint();
      const found = store.resolve(prefix);
      ours.push(Number(process.hrtime.bigint() - start) / 1000);
      if (found.containerId !== id) throw new Error(`resolve("${prefix}") gave ${found.containerId}, want ${id}`);
    }
    const { prefix, id } = lookups[round]!;
    const runsc = () => {
      const found = runscPrefixLookup(ctx.root, prefix);
      if (found !== id) throw new Error(`runsc lookup of "${prefix}" gave ${found}, want ${id}`);
    };
    const budget = {
      min: 1,
      max: RUNSC_MAX_PER_ROUND,
      budgetMs: RUNSC_BUDGET_MS_PER_ROUND,
      warmup: round === 0 ? 1 : 0,
    };
    theirs.push(...sampleWithin(runsc, budget));
  }
  ours.sort((a, b) => a - b);
  theirs.sort((a, b) => a - b);
  const oursMedianUs = median(ours);
  const runscMedianUs = median(theirs);
  const ratio = ratioOf(oursMedianUs, runscMedianUs);
  const row: FigureRow = {
    key: "resolve",
    figure: "resolve in process, index current",
    n: ctx.n,
    ours: { value: oursMedianUs, unit: "us" },
    oursDetail: `p99 ${formatMicros(p99(ours))}, ${ours.length} calls`,
    comparison: {
      label: "runsc list-and-filter, in process",
      value: runscMedianUs,
      unit: "us",
      detail: `${theirs.length} runs`,
    },
    ratio,
    target: "median ≤ 20 µs and ≥ 10,000x faster",
    met: oursMedianUs <= 20 && 1 / ratio >= 10_000,
    profile: {
      label: "resolve-loop child task",
      args: [benchScript("child-task"), "resolve-loop", ctx.root, String(RESOLVE_SAMPLES)],
    },
  };
  return { row, oursMedianUs, runscMedianUs };
}
