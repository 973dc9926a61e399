/**
 * Figure 6: store.save with index write-through, per second in one process,
 * against a bare in-place write under flock (what runsc's SaveLocked costs):
 * open + flock the .lock, write the state file in place, unlock, close.
 */
import { closeSync, constants, openSync, writeFileSync } from "node:fs";
import type { Container, Store } from "../../src/index.js";
import { flock, LOCK_EX, LOCK_UN } from "../../src/native/libc.js";
import { type FigureRow, ratioOf, type SizeContext } from "../figure.js";
import { benchScript } from "../processes.js";
import { formatCount, median } from "../stats.js";

const LOADED = 500;
const ROUNDS = 3;
const OURS_MS_PER_ROUND = 1000;
const BARE_MS_PER_ROUND = 500;
const SAVES_TARGET_PER_S = 3000;

/**
 * saveLoop saves the containers round-robin for `durationMs`, each time with
 * one field changed (status flips between running and paused, as runsc pause
 * and resume do). Returns how many saves completed.
 */
export async function saveLoop(store: Store, containers: readonly Container[], durationMs: number): Promise<number> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(durationMs * 1e6));
  let saves = 0;
  while (process.hrtime.bigint() < deadline) {
    const doc = containers[saves % containers.length]!.document;
    doc.status = doc.status === "paused" ? "running" : "paused";
    await store.save(doc);
    saves++;
  }
  return saves;
}

type BareFile = { lock: string; state: string; texts: [string, string] };

/** bareWriteLoop writes the files round-robin, in place under flock, for `durationMs`; returns how many writes. */
export function bareWriteLoop(files: readonly BareFile[], durationMs: number): number {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(durationMs * 1e6));
  let writes = 0;
  while (process.hrtime.bigint() < deadline) {
    const f = files[writes % files.length]!;
    const fd = openSync(f.lock, constants.O_RDONLY | constants.O_CREAT, 0o600);
    try {
      if (flock(fd, LOCK_EX).result < 0) throw new Error(`locking "${f.lock}" failed`);
      writeFileSync(f.state, f.texts[Math.floor(writes / files.length) % 2]!, { mode: 0o640 });
    } finally {
      flock(fd, LOCK_UN);
      closeSync(fd);
    }
    writes++;
  }
  return writes;
}

/** measureSave loads ~500 containers through `store`, then alternates timed rounds of both loops. */
export async function measureSave(ctx: SizeContext, store: Store): Promise<FigureRow> {
  const picked = new Set<string>();
  const want = Math.min(LOADED, ctx.n);
  while (picked.size < want) picked.add(ctx.containers[ctx.prng.int(ctx.n)]!.containerId);
  const containers: Container[] = [];
  for (const id of picked) containers.push(await store.load(id, { exact: true, skipCheck: true }));
  const bare = containers.map((c): BareFile => {
    const doc = c.document;
    const status = doc.status;
    const texts: [string, string] = [doc.encode(), ""];
    doc.status = status === "paused" ? "running" : "paused";
    texts[1] = doc.encode();
    doc.status = status;
    return { lock: c.file.replace(/\.state$/, ".lock"), state: c.file, texts };
  });
  await saveLoop(store, containers, 100); // warm-up
  bareWriteLoop(bare, 50);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let start = process.hrtime.bigint();
    let done = await saveLoop(store, containers, OURS_MS_PER_ROUND);
    ours.push(done / (Number(process.hrtime.bigint() - start) / 1e9));
    start = process.hrtime.bigint();
    done = bareWriteLoop(bare, BARE_MS_PER_ROUND);
    theirs.push(done / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  const oursRate = median(ours.sort((a, b) => a - b));
  const theirsRate = median(theirs.sort((a, b) => a - b));
  return {
    key: "save",
    figure: "save with index write-through, one process",
    n: ctx.n,
    ours: { value: oursRate, unit: "per_s" },
    oursDetail: `median of ${ROUNDS} rounds of ${OURS_MS_PER_ROUND / 1000} s over ${formatCount(want)} containers`,
    comparison: { label: "bare in-place write under flock", value: theirsRate, unit: "per_s" },
    ratio: ratioOf(oursRate, theirsRate),
    target: `≥ ${formatCount(SAVES_TARGET_PER_S)}/s`,
    met: oursRate >= SAVES_TARGET_PER_S,
    profile: { label: "save-loop child task (3 s)", args: [benchScript("child-task"), "save-loop", ctx.root, "3"] },
  };
}
