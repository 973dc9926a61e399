import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Freshness } from "../../src/freshness/freshness.js";
import { RootDir } from "../../src/ids/root-dir.js";
import { openIndex } from "../../src/index/open-index.js";
import { openStore, type Store } from "../../src/index.js";
import { makeRoot, removeTempDirs, statePath } from "../helpers/roots.js";

/** The kernel's inotify queue length; past it events are dropped and IN_Q_OVERFLOW is queued. */
const MAX_QUEUED = Number(fs.readFileSync("/proc/sys/fs/inotify/max_queued_events", "utf8"));
/** Each new file queues IN_CREATE and IN_CLOSE_WRITE; this many files overflow the queue twice over. */
const FILES = Math.max(20_000, MAX_QUEUED + 4_000);

const idOf = (i: number) => `q${String(i).padStart(6, "0")}`;

/** The smallest state file runsc could load: IDs, a status, a sandbox. */
function minimalState(id: string): string {
  return `{"id":"${id}","status":"stopped","sandbox":{"id":"${id}","pid":0}}`;
}

/** list() after the overflow reads every new file in worker threads (>= 2,000 files). */
const itWorkers = it;

describe("freshness: inotify queue overflow", () => {
  let root: string;
  let store: Store;
  /** A second freshness layer on the root, to see what its drains report. */
  let probe: Freshness;
  const lost: string[] = [];

  beforeAll(() => {
    root = makeRoot();
    store = openStore({ root });
    // One call starts the store's inotify watch on the root.
    expect(() => store.resolve(idOf(0))).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
    const indexPath = `${root}/.runsc-index/index.db`;
    probe = new Freshness(new RootDir(root), indexPath, path.dirname(indexPath), openIndex(indexPath), true);
    probe.listen({ changed: () => {}, lost: (cause) => lost.push(cause) });
    expect(probe.names()).toBe(true);
    expect(probe.watching).toBe(true);
    // Far more events than the queue holds, with no call to the store in between.
    for (let i = 0; i < FILES; i++) fs.writeFileSync(statePath(root, idOf(i), idOf(i)), minimalState(idOf(i)));
  });
  afterAll(() => {
    probe.close();
    store.close();
    removeTempDirs();
  });

  it(`creates more files than the queue has room for (${FILES} files, queue ${MAX_QUEUED})`, () => {
    expect(2 * FILES).toBeGreaterThan(MAX_QUEUED);
  });

  it("resolve finds one of the last files created after the queue overflowed", () => {
    expect(store.resolve(idOf(FILES - 1))).toEqual({ containerId: idOf(FILES - 1), sandboxId: idOf(FILES - 1) });
  });

  it("the lost events were detected: the watch was restarted with a rescan", () => {
    expect(lost).toEqual([]);
    expect(probe.names()).toBe(true);
    expect(lost).toEqual(["overflow"]);
  });

  it("every file is found and the count matches", () => {
    const sandboxes = store.listSandboxes();
    expect(sandboxes).toHaveLength(FILES);
    expect(sandboxes[0]).toBe(idOf(0));
    expect(sandboxes.at(-1)).toBe(idOf(FILES - 1));
    for (let i = 0; i < FILES; i += 97) expect(store.resolve(idOf(i)).containerId).toBe(idOf(i));
  });

  it("changes after the overflow are tracked again by the new watch", () => {
    fs.rmSync(statePath(root, idOf(5), idOf(5)));
    fs.writeFileSync(statePath(root, "after", "after"), minimalState("after"));
    expect(store.resolve("after").containerId).toBe("after");
    expect(() => store.resolve(idOf(5))).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
    expect(probe.names()).toBe(true);
    expect(lost).toEqual(["overflow"]); // no second restart: the new watch saw these
    expect(store.listSandboxes()).toHaveLength(FILES);
  });

  itWorkers("list returns every container after the overflow", async () => {
    const listed = await store.list({ skipCheck: true });
    expect(listed).toHaveLength(FILES);
    expect(listed.every((c) => c.status === "stopped")).toBe(true);
    const q = await store.query("SELECT count(*) AS n FROM containers WHERE status = 'stopped'");
    expect(q.rows).toEqual([{ n: FILES }]);
  });
});
