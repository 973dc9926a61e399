/**
 * baseline-smoke generates roots and times the runsc baselines on them, so the
 * floors of SPEC section 7 are known on this machine before our own figures exist.
 *
 *   node_modules/.bin/tsx bench/baseline-smoke.ts [SIZE...]      (default 1000 10000)
 *
 * The process baselines also run under plain node when a compiled copy exists:
 * dist/bench/<name>.js, or beside the file named by $RUNSC_LOOKUP_JS.
 * All timings are with a warm page cache: each method gets an untimed run first.
 * Roots go in os.tmpdir(); TMPDIR=/dev/shm puts them on tmpfs, where runsc's
 * real roots (/run/...) live; see generateRoot about ext4 after mass deletes.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generateRoot } from "../src/generate/generate.js";
import { listDirectory, readParseAll, runscPrefixLookup, statAll } from "./baselines.js";
import { repoRoot } from "./fixtures.js";
import { lockedLoadAll } from "./locked-load.js";
import { formatMicros, machineDescription, median, p99, peakRss, timeIt } from "./stats.js";

type Row = { size: number; method: string; samples: number[] };

const REPO = repoRoot();
const PREFIX_LENGTH = 12; // the short form docker and crictl print

// Fewer runs for bigger roots: a read+parse of 100k files takes seconds.
function runsFor(size: number): number {
  return Math.max(3, Math.min(21, Math.floor(200_000 / size)));
}

function inProcessRows(size: number, root: string, prefix: string, expected: string): Row[] {
  const iterations = runsFor(size);
  const lookup = () => {
    if (runscPrefixLookup(root, prefix) !== expected) throw new Error(`lookup of "${prefix}" gave a wrong ID`);
  };
  return [
    { size, method: "list directory (readdir + filter)", samples: timeIt(() => listDirectory(root), { iterations }) },
    { size, method: "runsc prefix lookup, in process", samples: timeIt(lookup, { iterations }) },
    { size, method: "list + lstat every state file", samples: timeIt(() => statAll(root), { iterations }) },
    { size, method: "list + read + JSON.parse every file", samples: timeIt(() => readParseAll(root), { iterations }) },
    {
      size,
      method: "locked load of every file (runsc list, no RPC)",
      samples: timeIt(() => lockedLoadAll(root), { iterations }),
    },
  ];
}

type Command = { method: string; argv: string[]; stdout?: string };

// A script under tsx, then under plain node for each compiled copy that exists.
function scriptCommands(name: string, label: string, args: string[], stdout: string): Command[] {
  const tsx = join(REPO, "node_modules/.bin/tsx");
  const commands = [{ method: `${label} (tsx)`, argv: [tsx, join(REPO, `bench/${name}.ts`), ...args], stdout }];
  const envJs = process.env.RUNSC_LOOKUP_JS && join(dirname(process.env.RUNSC_LOOKUP_JS), `${name}.js`);
  for (const js of [join(REPO, `dist/bench/${name}.js`), envJs]) {
    if (js && existsSync(js))
      commands.push({ method: `${label} (node ${js})`, argv: [process.execPath, js, ...args], stdout });
  }
  return commands;
}

function runProcess({ argv, stdout }: Command): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`running ${argv.join(" ")}: exit ${r.status}: ${r.stderr.trim()}`);
  if (stdout !== undefined && r.stdout.trim() !== stdout)
    throw new Error(`running ${argv[1]}: printed "${r.stdout.trim()}"`);
}

function processRows(size: number, root: string, prefix: string, expected: string): Row[] {
  const iterations = Math.max(3, Math.min(10, runsFor(size)));
  const commands: Command[] = [
    { method: "`node -e ''` (start-up alone)", argv: [process.execPath, "-e", ""] },
    ...scriptCommands("runsc-lookup-process", "runsc-style lookup process", [root, prefix], expected),
    ...scriptCommands("runsc-list-process", "runsc-list-style locked load process", [root], String(size)),
  ];
  return commands.map((c) => ({ size, method: c.method, samples: timeIt(() => runProcess(c), { iterations }) }));
}

async function measureSize(base: string, size: number): Promise<Row[]> {
  const started = process.hrtime.bigint();
  const gen = await generateRoot(join(base, `root-${size}`), size, { seed: size });
  const genUs = Number(process.hrtime.bigint() - started) / 1000;
  const mb = (gen.bytes / 2 ** 20).toFixed(0);
  console.error(`generated ${size} containers (${mb} MB of state) in ${formatMicros(genUs)}`);
  const expected = gen.containers[Math.floor(size / 2)]!.containerId;
  const prefix = expected.slice(0, PREFIX_LENGTH);
  const rows = [...inProcessRows(size, gen.dir, prefix, expected), ...processRows(size, gen.dir, prefix, expected)];
  rmSync(gen.dir, { recursive: true, force: true }); // free the disk before the next size
  return [{ size, method: "generateRoot (state + lock files)", samples: [genUs] }, ...rows];
}

function printTable(rows: Row[]): void {
  console.log("| containers | method | median | p99 | runs |");
  console.log("| ---: | --- | ---: | ---: | ---: |");
  for (const r of rows) {
    const line = [r.size, r.method, formatMicros(median(r.samples)), formatMicros(p99(r.samples)), r.samples.length];
    console.log(`| ${line.join(" | ")} |`);
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.length === 0) sizes.push(1000, 10_000);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("usage: baseline-smoke [SIZE...]");
  const base = mkdtempSync(join(tmpdir(), "runsc-bench-"));
  try {
    const rows: Row[] = [];
    for (const size of sizes) rows.push(...(await measureSize(base, size)));
    console.log(`Machine: ${machineDescription(base).summary}\n`);
    printTable(rows);
    console.log(`\nPeak RSS of this process: ${peakRss().toFixed(0)} MB`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
