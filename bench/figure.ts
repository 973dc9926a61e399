import type { GeneratedRoot } from "../src/generate/generate.js";
import type { Prng } from "../src/generate/prng.js";

/** What every figure gets for one size: a generated root and a scratch directory beside it. */
export type SizeContext = {
  /** Containers in the root. */
  n: number;
  root: string;
  /** Scratch space outside the root (extra indexes, command output); removed with the run. */
  work: string;
  containers: GeneratedRoot["containers"];
  /** Seeded: the same sizes pick the same IDs on every run. */
  prng: Prng;
};

/** A Measure is one figure's value; "us" is a duration in µs, "mb" a size, "per_s" a rate. */
export type Measure = { value: number; unit: "us" | "mb" | "per_s" };

/** A process to profile with `node --cpu-prof` when its figure's target is not met: node arguments after the flags. */
export type ProfileTask = { label: string; args: string[] };

/**
 * A FigureRow is one line of the results table: our figure beside its
 * comparison, measured in the same run, with the target from SPEC section 7.
 */
export type FigureRow = {
  /** Stable key across sizes, for the growth table and profiling. */
  key: string;
  figure: string;
  n: number;
  ours: Measure;
  /** Extra detail shown after our figure, e.g. "p99 21 µs". */
  oursDetail?: string;
  comparison?: Measure & { label: string; detail?: string };
  /** The real runsc doing the same (state, list), when installed; for the table's runsc column. */
  runsc?: Measure | undefined;
  /** `node -e ''` timed in the same rounds: the floor under any whole-process figure. */
  nodeStart?: Measure | undefined;
  /** ours / comparison (for rates too: a fraction of the comparison's rate). */
  ratio?: number;
  target: string;
  /** undefined: no target (shown for scale). */
  met?: boolean;
  notes?: string[];
  profile?: ProfileTask;
};

/** ratioOf returns ours / comparison, NaN when either is missing. */
export function ratioOf(ours: number, comparison: number): number {
  return comparison > 0 ? ours / comparison : Number.NaN;
}

/** collectGarbage runs a full GC when node was started with --expose-gc, so one figure's garbage is not billed to the next. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
