/**
 * How long a tab press waits for container IDs: `runsc-index __complete
 * PREFIX` as a whole process, and its one range query alone, on a root of n
 * containers (default 100,000) generated and indexed first.
 *
 * Usage: npm run build && node dist/bench/complete-latency.js [n] [dir]
 * (dir defaults to a temporary directory on /dev/shm, removed at the end).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateRoot } from "../src/generate/generate.js";
import { completionIds } from "../src/index/completions.js";
import { openStore } from "../src/store/open-store.js";
import { repoRoot } from "./fixtures.js";

const RUNS = 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  const parent = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const dir = process.argv[3] ?? fs.mkdtempSync(path.join(parent, "runsc-index-complete-"));
  const root = path.join(dir, "root");
  try {
    if (!fs.existsSync(root)) await generateRoot(root, n, { seed: 1 });
    const store = openStore({ root });
    await store.reconcile();
    store.close();
    const cli = path.join(repoRoot(), "dist", "src", "cli", "main.cjs");
    const index = path.join(root, ".runsc-index", "index.db");
    const prefixes = ["", "a", "3f", "c0d", "7e1a"];
    for (const prefix of prefixes) {
      const query: number[] = [];
      const proc: number[] = [];
      let count = 0;
      for (let i = 0; i < RUNS; i++) {
        let t = performance.now();
        count = completionIds(index, "containers", prefix, 1000).length;
        query.push(performance.now() - t);
        t = performance.now();
        spawnSync(process.execPath, [cli, "--root", root, "__complete", prefix], { stdio: "ignore" });
        proc.push(performance.now() - t);
      }
      const nodeOnly: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        spawnSync(process.execPath, ["-e", ""], { stdio: "ignore" });
        nodeOnly.push(performance.now() - t);
      }
      console.log(
        `n=${n} prefix="${prefix}" (${count} IDs): query median ${median(query).toFixed(2)} ms, ` +
          `whole __complete process ${median(proc).toFixed(1)} ms (node -e "" alone ${median(nodeOnly).toFixed(1)} ms)`,
      );
    }
  } finally {
    if (process.argv[3] === undefined) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
