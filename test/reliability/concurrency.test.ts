/**
 * Concurrency: four processes of ours (store.update) and two foreign writers
 * (flock(1) + jq, one renaming a temp file, one rewriting in place as runsc
 * does) increment counters in the same three state files, while two more
 * processes of ours create, destroy and look up other containers. No
 * increment may be lost, every file must parse with its unknown fields, and
 * the shared index must end up equal to a fresh rebuild.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, StateDocument } from "../../src/index.js";
import { killSpawned, type Spawned } from "../helpers/foreign.js";
import { FIXTURE_STATE_NAMES, makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";
import {
  freshRebuild,
  indexContents,
  killShells,
  runShell,
  type ShellChild,
  soakFactor,
  spawnWorker,
  stateNames,
  workerPath,
} from "./support.js";

const COUNTERS = ["ctr-0", "ctr-1", "ctr-2"];
const OUR_WRITERS = 4;
const FOREIGN_MODES = ["mv", "inplace"] as const;
const ROUNDS = 100 * soakFactor();
const CHURNERS = 2;
const CHURN_COUNT = 150 * soakFactor();
/** Fields no writer touches: they must come through every rewrite by us and by jq. */
const UNKNOWN = { "x-unknown": { keep: [1, "two", { three: null }], note: "survives" } };

afterEach(async () => {
  await killSpawned();
  await killShells();
  removeTempDirs();
});

function seedCounters(root: string): void {
  for (const id of COUNTERS) {
    writeState(root, {
      containerId: id,
      status: "running",
      edit: (doc) => {
        doc.spec.annotations["test.counter"] = "0";
        Object.assign(doc, UNKNOWN, { counter: 0 });
      },
    });
    fs.writeFileSync(path.join(root, `${id}_sandbox:${id}.lock`), "", { mode: 0o600 });
  }
}

/** expectClean waits for a worker or shell to exit and expects exit 0 with nothing on stderr; returns stdout. */
async function expectClean(child: Spawned | ShellChild, what: string): Promise<string> {
  const r =
    "finished" in child
      ? await child.finished
      : { ...(await child.exited), stdout: child.stdout(), stderr: child.stderr() };
  expect({ what, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({
    what,
    code: 0,
    signal: null,
    stderr: "",
  });
  return r.stdout;
}

describe("concurrency: our writers, foreign writers and lookups on one root", () => {
  it("no increment is lost, unknown fields survive, churn is seen at once, and the index equals a rebuild", {
    timeout: 240_000 * soakFactor(),
  }, async () => {
    const root = makeRoot({ fixtures: true });
    const scratch = makeTempDir("scratch");
    seedCounters(root);
    // The shared index exists before the crowd arrives, as on a host that has run before.
    openStore({ root }).close();
    const go = path.join(scratch, "go");

    const ours = Array.from({ length: OUR_WRITERS }, () =>
      spawnWorker("increment.ts", [root, go, String(ROUNDS), ...COUNTERS]),
    );
    const foreign = FOREIGN_MODES.map((mode) =>
      runShell('exec sh "$@"', [
        "sh",
        workerPath("foreign-writer.sh"),
        mode,
        root,
        scratch,
        String(ROUNDS),
        go,
        ...COUNTERS,
      ]),
    );
    const churners = Array.from({ length: CHURNERS }, (_, i) =>
      spawnWorker("churn.ts", [root, go, String(i), String(CHURN_COUNT), ...COUNTERS]),
    );
    await Promise.all([
      ...[...ours, ...churners].map((c) => c.line((l) => l === "ready")),
      ...foreign.map((c) => c.line("ready")),
    ]);
    fs.writeFileSync(go, "");

    for (const [i, c] of ours.entries()) {
      expect(await expectClean(c, `increment worker ${i}`)).toContain(`done ${ROUNDS * COUNTERS.length}`);
    }
    for (const [i, c] of foreign.entries()) {
      expect(await expectClean(c, `foreign writer ${FOREIGN_MODES[i]}`)).toContain(`done ${ROUNDS * COUNTERS.length}`);
    }
    const kept: string[] = [];
    for (const [i, c] of churners.entries()) {
      const out = await expectClean(c, `churn worker ${i}`);
      const report = JSON.parse(out.trim().split("\n").at(-1)!) as { kept: string[] };
      kept.push(...report.kept);
    }
    expect(kept).toHaveLength(CHURNERS * Math.ceil(CHURN_COUNT / 4));

    // Exact counts, from the files themselves.
    const expected = (OUR_WRITERS + FOREIGN_MODES.length) * ROUNDS;
    for (const id of COUNTERS) {
      const text = fs.readFileSync(statePath(root, id, id), "utf8");
      const plain = JSON.parse(text);
      expect({ id, counter: plain.counter, annotation: plain.spec.annotations["test.counter"] }).toEqual({
        id,
        counter: expected,
        annotation: String(expected),
      });
      expect(plain["x-unknown"]).toEqual(UNKNOWN["x-unknown"]);
      const doc = StateDocument.parse(text, id);
      expect(doc.fields.containerId).toBe(id);
      expect(doc.status).toBe("running");
    }

    // Exactly the containers that should exist, and every one parses.
    const expectedNames = [
      ...FIXTURE_STATE_NAMES,
      ...[...COUNTERS, ...kept].map((id) => `${id}_sandbox:${id}.state`),
    ].sort();
    expect(stateNames(root)).toEqual(expectedNames);
    for (const name of expectedNames) {
      expect(() => StateDocument.parse(fs.readFileSync(path.join(root, name), "utf8"), name)).not.toThrow();
    }

    // The shared index, reconciled, equals a brand-new index of the same files.
    const store = openStore({ root });
    try {
      const report = await store.reconcile();
      expect(report.invalidFiles).toEqual([]);
      const live = await indexContents(store);
      expect(live).toEqual(await freshRebuild(root));
      const indexed = live.containers.map((r) => `${r.container_id}_sandbox:${r.sandbox_id}.state`);
      expect(indexed.sort()).toEqual(expectedNames);
      const counters = await store.query(
        `SELECT container_id, json_extract(annotations, '$."test.counter"') AS counter FROM containers
           WHERE container_id LIKE 'ctr-%' ORDER BY 1`,
      );
      expect(counters.rows).toEqual(COUNTERS.map((id) => ({ container_id: id, counter: String(expected) })));
    } finally {
      store.close();
    }
  });
});
