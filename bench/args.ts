/**
 * The benchmark's command line, parsed by hand (no dependency):
 *
 *   node --expose-gc dist/bench/run.js [--n SIZES]... [--profile all|unmet|none] [--out DIR]
 *
 * `--n` takes one size or a comma-separated list, may be repeated, and
 * accepts a k/m suffix (10k, 1m). Default sizes 1000, 10000, 100000.
 */

/** When to profile a figure's task with `node --cpu-prof` (at the largest size only). */
export type ProfileMode = "all" | "unmet" | "none";

export type BenchArgs = {
  /** Container counts, ascending, without duplicates. */
  sizes: number[];
  profile: ProfileMode;
  /** Where results.md and lookup.svg go; undefined: bench/results in the repository. */
  out: string | undefined;
};

export const DEFAULT_SIZES = [1000, 10_000, 100_000];
const PROFILE_MODES: readonly ProfileMode[] = ["all", "unmet", "none"];

export const USAGE = `usage: run.js [--n SIZE[,SIZE...]]... [--profile all|unmet|none] [--out DIR]
  --n        container counts to measure (repeatable; k/m suffixes; default ${DEFAULT_SIZES.join(",")})
  --profile  profile with node --cpu-prof the figures whose target is not met (unmet, default), every figure, or none
  --out      directory for results.md and lookup.svg (default bench/results)`;

/** UsageError: the command line is wrong; the harness prints it with USAGE and exits 2. */
export class UsageError extends Error {}

/** parseArgs reads argv (without node and the script). Throws UsageError. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const sizes: number[] = [];
  let profile: ProfileMode = "unmet";
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--n":
        for (const part of value().split(",")) sizes.push(parseSize(part));
        break;
      case "--profile": {
        const v = value();
        if (!PROFILE_MODES.includes(v as ProfileMode)) throw new UsageError(`--profile must be all, unmet or none`);
        profile = v as ProfileMode;
        break;
      }
      case "--out":
        out = value();
        break;
      case "-h":
      case "--help":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  const unique = [...new Set(sizes.length > 0 ? sizes : DEFAULT_SIZES)].sort((a, b) => a - b);
  return { sizes: unique, profile, out };
}

/** parseSize reads "100000", "100k", "1m" or "1_000"; throws UsageError for anything else or below 10. */
export function parseSize(text: string): number {
  const m = /^(\d[\d_]*)([kKmM]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--n: "${text}" is not a container count`);
  const scale = { "": 1, k: 1000, m: 1_000_000 }[m[2]!.toLowerCase() as "" | "k" | "m"];
  const n = Number(m[1]!.replaceAll("_", "")) * scale;
  // Smaller roots cannot hold the churn figure's sample of existing IDs, nor say anything.
  if (!Number.isSafeInteger(n) || n < 10) throw new UsageError(`--n: ${text} must be at least 10`);
  return n;
}
