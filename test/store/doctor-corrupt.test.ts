/**
 * doctor on an index it finds corrupt during its own reconcile: the store
 * rebuilds the index, and the report describes the rebuilt one (it used to
 * read the closed connection).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/index.js";
import { makeRoot, removeTempDirs, writeState } from "../helpers/roots.js";

afterEach(removeTempDirs);

describe("doctor on a corrupt index", () => {
  it("reports the damage it found, then counts and drift from the rebuilt index", async () => {
    const root = makeRoot();
    for (let i = 0; i < 300; i++) writeState(root, { containerId: `d${String(i).padStart(3, "0")}` });
    const first = openStore({ root });
    await first.reconcile();
    first.close(); // the last connection checkpoints: everything is in index.db
    const db = path.join(root, ".runsc-index", "index.db");
    const size = fs.statSync(db).size;
    expect(size).toBeGreaterThan(16 * 4096);
    // Garbage over every page but the first (the schema): open succeeds, use fails.
    const fd = fs.openSync(db, "r+");
    fs.writeSync(fd, Buffer.alloc(size - 4096, 0xa5), 0, size - 4096, 4096);
    fs.closeSync(fd);

    const store = openStore({ root });
    try {
      const report = await store.doctor();
      expect(report.integrity).not.toBe("ok");
      expect(report.ok).toBe(false);
      expect(report.driftBefore).toEqual({ missing: 300, extra: 0 });
      expect(report.driftAfter).toEqual({ missing: 0, extra: 0 });
      expect(report.counts).toMatchObject({ containers: 300, sandboxes: 300, pending: 0, invalid: 0 });
      expect(store.resolve("d299").containerId).toBe("d299");
    } finally {
      store.close();
    }
  });
});
