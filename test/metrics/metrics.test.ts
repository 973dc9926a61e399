/** The metrics endpoint on its own: counts read from the index at scrape time, only GET /metrics served. */
import { afterEach, describe, expect, it } from "vitest";
import { loadMetrics, openStore, type Store } from "../../src/index.js";
import { makeRoot, removeTempDirs, writeState } from "../helpers/roots.js";

let store: Store | undefined;
afterEach(() => {
  store?.close();
  removeTempDirs();
});

describe("metrics", () => {
  it("serves the index's counts at /metrics on a free port, 404 elsewhere; follows changes without a watcher", async () => {
    const root = makeRoot({ fixtures: true });
    writeState(root, { containerId: "x1", status: "paused" });
    store = openStore({ root });
    await store.reconcile();
    const { WatchMetrics, serveMetrics } = await loadMetrics();
    const metrics = new WatchMetrics(() => store!.index);
    const server = await serveMetrics(metrics, "127.0.0.1:0");
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const text = await (await fetch(server.url)).text();
      expect(text).toContain('runsc_index_containers{status="paused"} 1\n');
      expect(text).toContain('runsc_index_containers{status="running"} 1\n');
      expect(text).toContain("runsc_index_last_drain_age_seconds -1\n");
      metrics.drained(Date.now(), 3);
      writeState(root, { containerId: "x2", status: "paused" });
      await store.reconcile();
      const after = await (await fetch(server.url)).text();
      expect(after).toContain('runsc_index_containers{status="paused"} 2\n');
      expect(after).toContain("runsc_index_drains_total 1\n");
      expect(after).toMatch(/^runsc_index_last_drain_age_seconds (0|0\.\d+|[1-9]\.\d+)$/m);
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("refuses an address that is not host:port", async () => {
    const { WatchMetrics, serveMetrics } = await loadMetrics();
    const root = makeRoot();
    store = openStore({ root });
    const metrics = new WatchMetrics(() => store!.index);
    await expect(serveMetrics(metrics, "localhost")).rejects.toMatchObject({
      code: "ERR_INVALID_ARGUMENT",
      message: 'metrics address "localhost" is not host:port',
    });
  });
});
