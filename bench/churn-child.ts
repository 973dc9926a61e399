/**
 * The other process of figure 2: creates and destroys containers the way
 * runsc does, at a steady rate, while the parent resolves IDs.
 *
 *   node dist/bench/churn-child.js ROOT DURATION_MS SEED [RATE_PER_S=50] [KEEP=10]
 *
 * Every 1/RATE s it creates one container (flock LOCK_EX on its new .lock,
 * fail if the .state exists, write the .state in place as os.WriteFile does,
 * unlock) and, once more than KEEP are alive, destroys the oldest (lock,
 * unlink .state then .lock, unlock). It prints, each line after the step is
 * complete, with CLOCK_MONOTONIC times in ns (the parent's process.hrtime):
 *
 *   ready
 *   created <cid> <doneNs>
 *   destroyed <cid> <startNs> <doneNs>
 *   stopping                      (duration over; the rest are destroyed next)
 *   done <created> <destroyed> <lateTicks>
 */
import { closeSync, constants, existsSync, openSync, unlinkSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { planSandbox } from "../src/generate/plan.js";
import { Prng } from "../src/generate/prng.js";
import { loadStateTemplates } from "../src/generate/state-templates.js";
import { render } from "../src/generate/template.js";
import { flock, LOCK_EX, LOCK_UN } from "../src/native/libc.js";

// Sandbox ordinals far above the generated roots' (they set the PIDs, which must not repeat).
const ORDINAL_BASE = 50_000_000;

function now(): bigint {
  return process.hrtime.bigint();
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** withLock holds flock(2) LOCK_EX on `lockPath` (created 0600 if missing, as gofrs/flock does) while fn runs. */
function withLock<T>(lockPath: string, fn: () => T): T {
  const fd = openSync(lockPath, constants.O_RDONLY | constants.O_CREAT, 0o600);
  try {
    const { result, errno } = flock(fd, LOCK_EX);
    if (result < 0) throw new Error(`locking "${lockPath}": errno ${errno}`);
    return fn();
  } finally {
    flock(fd, LOCK_UN);
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const [root, durationArg, seedArg, rateArg, keepArg] = process.argv.slice(2);
  const durationMs = Number(durationArg);
  const rate = Number(rateArg ?? 50);
  const keep = Number(keepArg ?? 10);
  if (!root || !(durationMs > 0) || !(rate > 0) || !(keep >= 0)) {
    process.stderr.write("usage: churn-child ROOT DURATION_MS SEED [RATE_PER_S] [KEEP]\n");
    process.exit(2);
  }
  const templates = loadStateTemplates(root);
  const prng = new Prng(Number(seedArg ?? 1));
  const alive: { cid: string; base: string }[] = [];
  let created = 0;
  let destroyed = 0;
  let late = 0;

  const create = (): void => {
    const v = planSandbox(prng, ORDINAL_BASE + created, 1)[0]!;
    const base = `${root}/${v.containerId}_sandbox:${v.sandboxId}`;
    withLock(`${base}.lock`, () => {
      if (existsSync(`${base}.state`)) throw new Error(`container "${v.containerId}" already exists`);
      writeFileSync(`${base}.state`, render(templates.root, v), { mode: 0o640 });
    });
    alive.push({ cid: v.containerId, base });
    created++;
    print(`created ${v.containerId} ${now()}`);
  };
  const destroyOldest = (): void => {
    const { cid, base } = alive.shift()!;
    const start = now();
    withLock(`${base}.lock`, () => {
      unlinkSync(`${base}.state`);
      unlinkSync(`${base}.lock`);
    });
    destroyed++;
    print(`destroyed ${cid} ${start} ${now()}`);
  };

  print("ready");
  const tickNs = BigInt(Math.round(1e9 / rate));
  const start = now();
  const end = start + BigInt(Math.round(durationMs * 1e6));
  for (let tick = 0n; ; tick++) {
    const due = start + tick * tickNs;
    if (due >= end) break;
    const wait = Number(due - now()) / 1e6;
    if (wait > 0) await sleep(wait);
    else if (wait < -Number(tickNs) / 1e6) late++;
    create();
    if (alive.length > keep) destroyOldest();
  }
  print("stopping");
  while (alive.length > 0) destroyOldest();
  print(`done ${created} ${destroyed} ${late}`);
}

await main();
