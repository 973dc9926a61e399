/**
 * Crashes: worker processes loop over create, update, save and destroy on a
 * shared set of containers and are SIGKILLed at random points, then
 * replaced; some die while still opening the store. Afterwards every state
 * file holds one whole version, no lock is held, prune clears the leftovers
 * without touching a state file, and reconcile makes the index equal a
 * fresh rebuild. RUNSC_INDEX_SOAK=N runs N times as many kills.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { TEMP_PREFIX } from "../../src/ids/file-names.js";
import { openStore, StateDocument } from "../../src/index.js";
import { isLockFree, killSpawned } from "../helpers/foreign.js";
import { makeRoot, removeTempDirs } from "../helpers/roots.js";
import { crashDocProblem } from "./crash-doc.js";
import { freshRebuild, indexContents, snapshotDir, soakFactor, spawnWorker, stateNames } from "./support.js";

const KILLS = 200 * soakFactor();
/** Workers alive at once: more than the two cores, so kills also land on processes waiting for locks. */
const PARALLEL = 3;
const IDS = Array.from({ length: 8 }, (_, i) => `crash-${i}`);
/** A share of the kills is timed from "opening", so some land inside openStore (index open, migration, first sync). */
const EARLY_KILL_SHARE = 0.2;

afterEach(async () => {
  await killSpawned();
  removeTempDirs();
});

const randomMs = (max: number) => Math.floor(Math.random() * (max + 1));

/** oneLife runs one worker until a random kill; returns a problem when it died any other way. */
async function oneLife(root: string): Promise<string | undefined> {
  const worker = spawnWorker("crash-loop.ts", [root, ...IDS]);
  try {
    // The delays pick the kill point at random; nothing waits on them for correctness.
    if (Math.random() < EARLY_KILL_SHARE) {
      await worker.line((l) => l === "opening");
      await sleep(randomMs(20));
    } else {
      await worker.line((l) => l === "ready");
      await sleep(randomMs(60));
    }
  } catch {
    // It exited before "ready": reported below from its exit status.
  }
  await worker.kill();
  const { code, signal } = await worker.exited;
  return signal === "SIGKILL" ? undefined : `worker exited with ${signal ?? code}: ${worker.stderr().trim()}`;
}

describe("crash: workers SIGKILLed inside create, save, update and destroy", () => {
  it(`after ${KILLS} kills every file is whole, no lock is held, prune clears leftovers, reconcile matches a rebuild`, {
    timeout: 300_000 * soakFactor(),
  }, async () => {
    const root = makeRoot({ fixtures: true });
    const problems: string[] = [];
    let lives = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (lives < KILLS) {
          lives++;
          const problem = await oneLife(root);
          if (problem) problems.push(problem);
        }
      }),
    );
    expect(problems).toEqual([]);
    expect(lives).toBeGreaterThanOrEqual(KILLS);

    // Every state file is one whole version written by someone (or a fixture).
    const names = stateNames(root);
    expect(names.length).toBeGreaterThan(2);
    for (const name of names) {
      const text = fs.readFileSync(path.join(root, name), "utf8");
      const doc = StateDocument.parse(text, name);
      const id = doc.fields.containerId;
      expect(name).toBe(`${id}_sandbox:${doc.fields.sandboxId}.state`);
      if (IDS.includes(id)) expect({ name, problem: crashDocProblem(id, JSON.parse(text)) }).toEqual({ name });
    }

    // Dead processes hold no flock: every lock file can be taken at once.
    const locks = fs.readdirSync(root).filter((n) => n.endsWith(".lock"));
    for (const lock of locks) expect({ lock, free: isLockFree(path.join(root, lock)) }).toEqual({ lock, free: true });

    // prune removes temp files and orphan locks, and never a state file.
    const statesBefore = snapshotDir(root, [".runsc-index"]);
    const tempsBefore = fs.readdirSync(root).filter((n) => n.startsWith(TEMP_PREFIX));
    const store = openStore({ root });
    try {
      expect((await store.doctor()).integrity).toBe("ok");
      // The kills just happened: every orphan lock is young, so the age rule is switched off here.
      const pruned = await store.prune({ minLockAgeMs: 0 });
      expect(pruned.skipped).toEqual([]);
      expect(
        pruned.removed
          .filter((f) => f.kind === "temp-file")
          .map((f) => f.name)
          .sort(),
      ).toEqual(tempsBefore.sort());
      const after = fs.readdirSync(root);
      expect(after.filter((n) => n.startsWith(TEMP_PREFIX))).toEqual([]);
      for (const lock of after.filter((n) => n.endsWith(".lock"))) {
        expect(after).toContain(lock.replace(/\.lock$/, ".state"));
      }
      const statesAfter = snapshotDir(root, [".runsc-index"]);
      for (const name of names) expect(statesAfter[name]).toBe(statesBefore[name]);
      console.log(
        `crash suite: ${lives} kills; ${tempsBefore.length} temp files and ` +
          `${pruned.removed.length - tempsBefore.length} orphan locks pruned; ${names.length} state files left`,
      );

      // Reconcile brings the index that every worker wrote through in line with the files.
      const report = await store.reconcile();
      expect(report.invalidFiles).toEqual([]);
      const live = await indexContents(store);
      expect(live).toEqual(await freshRebuild(root));
      expect(live.containers.map((r) => `${r.container_id}_sandbox:${r.sandbox_id}.state`).sort()).toEqual(names);
    } finally {
      store.close();
    }
  });
});
