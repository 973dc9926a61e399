import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";

/** TimeOptions: samples to keep, and untimed runs first (JIT, page cache). */
export type TimeOptions = { iterations: number; warmup?: number };

/** timeIt runs `fn` warmup + iterations times and returns the timed samples in µs, sorted ascending. */
export function timeIt(fn: () => unknown, { iterations, warmup = 1 }: TimeOptions): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return samples.sort((a, b) => a - b);
}

/** timeItAsync is timeIt for functions that wait; each sample includes the await. */
export async function timeItAsync(
  fn: () => Promise<unknown>,
  { iterations, warmup = 1 }: TimeOptions,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return samples.sort((a, b) => a - b);
}

/** quantile returns the nearest-rank q-quantile of ascending samples; NaN if there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** median of ascending samples (the mean of the middle two for an even count). */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** p99 of ascending samples, nearest rank: with fewer than 100 samples it is the maximum. */
export function p99(sorted: readonly number[]): number {
  return quantile(sorted, 0.99);
}

/** formatMicros renders a duration in µs with three significant digits and a fitting unit. */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return String(us);
  if (us < 1000) return `${us.toPrecision(3)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toPrecision(3)} ms`;
  return `${(us / 1_000_000).toPrecision(3)} s`;
}

/** peakRss returns this process's peak resident set (VmHWM) in MB, or NaN off Linux. */
export function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** MachineDescription: what a figure was measured on; `summary` is one line for a report. */
export type MachineDescription = {
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  fsType: string;
  summary: string;
};

/** machineDescription describes this machine and the filesystem holding `dir` (default: the temp dir). */
export function machineDescription(dir: string = tmpdir()): MachineDescription {
  const cpu = cpuModel();
  const cores = cpus().length;
  const memoryGb = Math.round((totalmem() / 2 ** 30) * 10) / 10;
  const kernel = release();
  const fsType = filesystemType(dir);
  const summary = `${cpu}, ${cores} cores, ${memoryGb} GB, Linux ${kernel}, Node ${process.version}, ${fsType} at ${dir}`;
  return { cpu, cores, memoryGb, kernel, node: process.version, fsType, summary };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux; os.cpus() below still knows something
  }
  return cpus()[0]?.model ?? "unknown CPU";
}

// /proc/mounts first: `stat -f` names the filesystem by its magic number,
// which says "ext2/ext3" for ext4 too.
function filesystemType(dir: string): string {
  const type = mountType(dir);
  if (type !== "unknown") return type;
  try {
    return execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim();
  } catch {
    return type;
  }
}

function mountType(dir: string): string {
  let best = { mount: "", type: "unknown" };
  try {
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [, mount, type] = line.split(" ");
      if (!mount || !type || mount.length < best.mount.length) continue;
      if (dir === mount || dir.startsWith(mount.endsWith("/") ? mount : mount + "/")) best = { mount, type };
    }
  } catch {
    // no /proc: leave "unknown"
  }
  return best.type;
}

/** SampleOptions: like TimeOptions, but stop early once `budgetMs` of timed runs are spent (never below `min`). */
export type SampleOptions = { min: number; max: number; budgetMs: number; warmup?: number };

/**
 * sampleWithin times `fn` as timeIt does, for at least `min` and at most `max`
 * runs, stopping once the timed runs add up to `budgetMs`: slow methods get
 * fewer samples, fast ones many, and the whole harness stays in its time plan.
 */
export function sampleWithin(fn: () => unknown, { min, max, budgetMs, warmup = 1 }: SampleOptions): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  let spentUs = 0;
  while (samples.length < max && (samples.length < min || spentUs < budgetMs * 1000)) {
    const start = process.hrtime.bigint();
    fn();
    const us = Number(process.hrtime.bigint() - start) / 1000;
    samples.push(us);
    spentUs += us;
  }
  return samples.sort((a, b) => a - b);
}

/** formatRatio renders ours/theirs: "0.012x", "1.3x". */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return String(ratio);
  return `${ratio < 0.01 ? ratio.toExponential(1) : ratio.toPrecision(2)}x`;
}

/** formatCount renders a count with thousands separators: 12,345. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
