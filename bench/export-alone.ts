/**
 * The export figures alone, without the rest of the bench:
 *
 *   npm run build && node dist/bench/export-alone.js [N]     (default 100000)
 *
 * Generates a root of N containers (on /dev/shm when writable), reconciles
 * it, measures bench/figures/export.ts and prints the rows; removes the root.
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateRoot } from "../src/generate/generate.js";
import { Prng } from "../src/generate/prng.js";
import { openStore } from "../src/index.js";
import { installSignalCleanup, trackDir } from "./cleanup.js";
import { measureExport } from "./figures/export.js";
import { formatMicros } from "./stats.js";

function scratch(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  installSignalCleanup();
  const base = trackDir(mkdtempSync(join(scratch(), "runsc-bench-export-")));
  try {
    const gen = await generateRoot(join(base, "root"), n, { seed: n });
    const work = join(base, "work");
    mkdirSync(work);
    const store = openStore({ root: gen.dir });
    try {
      const first = await store.reconcile();
      process.stderr.write(
        `n = ${n}: reconciled ${first.scanned} files in ${(first.durationMs / 1000).toFixed(2)} s\n`,
      );
      const ctx = { n, root: gen.dir, work, containers: gen.containers, prng: new Prng(n + 1) };
      for (const r of await measureExport(ctx, store)) {
        const met = r.met === undefined ? "" : r.met ? " [met]" : " [NOT met]";
        process.stdout.write(
          `${r.figure}: ${formatMicros(r.ours.value)} (${r.oursDetail}); target ${r.target}${met}\n`,
        );
      }
    } finally {
      store.close();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
