import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { makeRoot, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

afterAll(() => removeTempDirs());

describe("reconcile: a worker that dies", () => {
  it("a file too big for a worker's small heap is read in the main thread, and every count is right", async () => {
    const root = makeRoot();
    const files = 2_100; // past the threshold at which a full pass reads in worker threads
    for (let i = 0; i < files; i++) writeState(root, { containerId: `w${i}` });
    // Valid, under the 16 MiB limit, and bigger than a worker's heap (src/reconcile/worker-pool.ts).
    writeState(root, { containerId: "huge", edit: (d) => (d.owner = "y".repeat(14 * 1024 * 1024)) });
    const before = fs.readFileSync(statePath(root, "huge", "huge"));

    const store = openStore({ root });
    try {
      const report = await store.reconcile({ full: true });
      expect(report).toMatchObject({ scanned: files + 1, added: files + 1, updated: 0, invalid: 0 });
      const { rows } = await store.query("SELECT count(*) AS n, max(length(owner)) AS longest FROM containers", [], {
        fresh: false,
      });
      expect(rows).toEqual([{ n: files + 1, longest: 14 * 1024 * 1024 }]);
      expect(fs.readFileSync(statePath(root, "huge", "huge")).equals(before)).toBe(true);
    } finally {
      store.close();
    }
  });
});
