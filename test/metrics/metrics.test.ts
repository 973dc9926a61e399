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
  it("serves the index's counts at /metrics on a free port, 404 elsewhere; counts the watcher's drains and events", async () => {
    const root = makeRoot({ fixtures: true });
    writeState(root, { containerId: "x1", status: "paused" });
    store = openStore({ root });
    const { WatchMetrics, serveMetrics } = await loadMetrics();
    const metrics = new WatchMetrics();
    const server = await serveMetrics(metrics, "127.0.0.1:0");
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // Before a watcher attaches its index there is nothing to count.
      expect(await (await fetch(server.url)).text()).toContain("runsc_index_last_drain_age_seconds -1\n");
      const watcher = await store.watch({ metrics });
      try {
        const text = await (await fetch(server.url)).text();
        expect(text).toContain('runsc_index_containers{status="paused"} 1\n');
        expect(text).toContain('runsc_index_containers{status="running"} 1\n');
        writeState(root, { containerId: "x2", status: "paused" });
        const deadline = Date.now() + 10_000;
        let after = "";
        while (Date.now() < deadline) {
          after = await (await fetch(server.url)).text();
          if (after.includes('runsc_index_containers{status="paused"} 2\n')) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(after).toContain('runsc_index_containers{status="paused"} 2\n');
        expect(after).toContain('runsc_index_events_total{type="created"} 1\n');
        expect(after).toMatch(/^runsc_index_drains_total [1-9]\d*$/m);
        expect(after).toMatch(/^runsc_index_last_drain_age_seconds (0|0\.\d+|[1-9]\.\d+)$/m);
      } finally {
        await watcher.stop();
      }
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("refuses an address that is not host:port", async () => {
    const { WatchMetrics, serveMetrics } = await loadMetrics();
    const root = makeRoot();
    store = openStore({ root });
    const metrics = new WatchMetrics();
    await expect(serveMetrics(metrics, "localhost")).rejects.toMatchObject({
      code: "ERR_INVALID_ARGUMENT",
      message: 'metrics address "localhost" is not host:port',
    });
  });
});
