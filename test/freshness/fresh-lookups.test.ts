import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setImmediate as yieldToEvents } from "node:timers/promises";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import { killSpawned, spawnProcess, spawnTsx, srcUrl } from "../helpers/foreign.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, statePath, stateText } from "../helpers/roots.js";

const stores: Store[] = [];

afterEach(async () => {
  await killSpawned();
  for (const s of stores.splice(0)) s.close();
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

/** create writes a state file and its lock file with plain fs calls, as runsc does (no store involved). */
function create(root: string, cid: string, sid = cid, status = "created"): void {
  fs.writeFileSync(lockPath(root, cid, sid), "", { mode: 0o600 });
  fs.writeFileSync(statePath(root, cid, sid), stateText({ containerId: cid, sandboxId: sid, status }), { mode: 0o640 });
}

/** remove deletes a state file, then its lock file, as runsc's destroy does. */
function remove(root: string, cid: string, sid = cid): void {
  fs.rmSync(statePath(root, cid, sid));
  fs.rmSync(lockPath(root, cid, sid), { force: true });
}

function expectFound(store: Store, id: string, sandboxId = id): void {
  expect(store.resolve(id), id).toEqual({ containerId: id, sandboxId });
}

function expectNotFound(store: Store, id: string): void {
  expect(() => store.resolve(id), id).toThrow(expect.objectContaining({ code: "ERR_NOT_FOUND" }));
}

describe("fresh lookups (a): files created and removed in this process with plain fs calls", () => {
  it("each resolve sees every create and remove made before it", () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    expectNotFound(store, "a-0");
    for (let i = 0; i < 40; i++) {
      create(root, `a-${i}`);
      expectFound(store, `a-${i}`);
      if (i >= 3) {
        remove(root, `a-${i - 3}`);
        expectNotFound(store, `a-${i - 3}`);
        expectFound(store, `a-${i - 2}`);
      }
    }
    expect(store.listSandboxes()).toEqual(["a-37", "a-38", "a-39"]);
  });

  it("a file created and removed again between two calls is not found", () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    expectNotFound(store, "x"); // any call: starts the watch
    create(root, "blink");
    remove(root, "blink");
    expectNotFound(store, "blink");
  });

  it("a file renamed into place, and one renamed away, are seen", () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    create(root, "stay");
    expectFound(store, "stay");
    const temp = path.join(root, ".incoming");
    fs.writeFileSync(temp, stateText({ containerId: "moved-in" }));
    fs.renameSync(temp, statePath(root, "moved-in", "moved-in"));
    expectFound(store, "moved-in");
    fs.renameSync(statePath(root, "stay", "stay"), path.join(root, "stay.bak"));
    expectNotFound(store, "stay");
  });

  it("a prefix becomes ambiguous, then unique again, as files come and go", () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    create(root, "pre-1");
    expectFound(store, "pre-1");
    expect(store.resolve("pre").containerId).toBe("pre-1");
    create(root, "pre-2");
    expect(() => store.resolve("pre")).toThrow(expect.objectContaining({ code: "ERR_AMBIGUOUS_ID" }));
    remove(root, "pre-1");
    expect(store.resolve("pre").containerId).toBe("pre-2");
  });

  it("the same container ID moving to another sandbox is seen", () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    create(root, "c", "s1");
    expectFound(store, "c", "s1");
    remove(root, "c", "s1");
    create(root, "c", "s2");
    expectFound(store, "c", "s2");
  });

  it("list and query see new files, removed files and their statuses", async () => {
    const root = makeRoot();
    const store = track(openStore({ root }));
    expect(await store.list()).toEqual([]);
    create(root, "l1", "l1", "created");
    create(root, "l2", "l2", "paused");
    expect((await store.list({ skipCheck: true })).map((c) => [c.containerId, c.status])).toEqual([
      ["l1", "created"],
      ["l2", "paused"],
    ]);
    remove(root, "l1");
    expect((await store.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(["l2"]);
    expect((await store.query("SELECT container_id FROM containers")).rows).toEqual([{ container_id: "l2" }]);
  });

  it("files created before the first call of a new store are found", () => {
    const root = makeRoot();
    create(root, "early");
    const store = track(openStore({ root }));
    expectFound(store, "early");
  });

  it("a root that does not exist yet, then appears with files, is seen", () => {
    const parent = makeRoot();
    const root = path.join(parent, "later");
    const store = track(openStore({ root, index: path.join(parent, "index.db") }));
    expectNotFound(store, "late");
    fs.mkdirSync(root, { mode: 0o711 });
    create(root, "late");
    expectFound(store, "late");
  });
});

describe("fresh lookups (b): another process creates and removes files while we resolve", () => {
  it("every resolve that begins after the other process reported a change reflects it", async () => {
    const root = makeRoot();
    const ROUNDS = 150;
    // Files the child will remove; they exist before it starts and are never created again.
    for (let i = 0; i < ROUNDS; i++) create(root, `old-${String(i).padStart(4, "0")}`);
    const store = track(openStore({ root }));
    expectFound(store, "old-0000");

    const script = path.join(makeTempDir("churn"), "churn.mjs");
    fs.writeFileSync(
      script,
      `
import fs from "node:fs";
const root = ${JSON.stringify(root)};
const template = ${JSON.stringify(stateText({ containerId: "XIDX" }))};
const pause = new Int32Array(new SharedArrayBuffer(4));
const base = (id) => root + "/" + id + "_sandbox:" + id;
for (let i = 0; i < ${ROUNDS}; i++) {
  const n = String(i).padStart(4, "0");
  const created = "new-" + n;
  fs.writeFileSync(base(created) + ".lock", "", { mode: 0o600 });
  fs.writeFileSync(base(created) + ".state", template.replaceAll("XIDX", created), { mode: 0o640 });
  process.stdout.write("created " + created + "\\n");
  const removed = "old-" + n;
  fs.rmSync(base(removed) + ".state");
  fs.rmSync(base(removed) + ".lock", { force: true });
  process.stdout.write("removed " + removed + "\\n");
  Atomics.wait(pause, 0, 0, 2);
}
process.stdout.write("done\\n");
`,
    );
    const child = spawnProcess(process.execPath, [script]);

    const created: string[] = [];
    const removed: string[] = [];
    let seen = 0;
    let resolves = 0;
    let done = false;
    const check = (id: string, exists: boolean) => {
      resolves++;
      if (exists) expectFound(store, id);
      else expectNotFound(store, id);
    };
    while (!done) {
      await yieldToEvents(); // let the child's lines arrive
      const lines = child.stdout().split("\n").slice(0, -1);
      const fresh = lines.slice(seen);
      seen = lines.length;
      // Every change reported so far was made before the resolves below begin.
      for (const line of fresh) {
        const [what, id] = line.split(" ");
        if (what === "done") done = true;
        else if (what === "created") created.push(id!);
        else removed.push(id!);
      }
      for (const line of fresh) {
        const [what, id] = line.split(" ");
        if (what === "created") check(id!, true);
        if (what === "removed") check(id!, false);
      }
      // And a few older ones at random: a change stays reflected.
      for (let k = 0; k < 3 && created.length > 0; k++) {
        check(created[Math.floor(Math.random() * created.length)]!, true);
        if (removed.length > 0) check(removed[Math.floor(Math.random() * removed.length)]!, false);
      }
      if (!done && child.child.exitCode !== null) {
        const rest = child.stdout().split("\n").slice(0, -1).length;
        if (rest === seen) throw new Error(`the churning child exited early: ${child.stderr()}`);
      }
    }
    expect(created).toHaveLength(ROUNDS);
    expect(removed).toHaveLength(ROUNDS);
    expect(resolves).toBeGreaterThan(2 * ROUNDS);
    expect(store.listSandboxes()).toHaveLength(ROUNDS);
    expect((await child.exited).code).toBe(0);
  });

  it("a shell loop with cp and rm (util-linux/coreutils, not Node) is seen the same way", async () => {
    const root = makeRoot();
    const template = path.join(makeTempDir("template"), "t.state");
    const store = track(openStore({ root }));
    expectNotFound(store, "sh-1");
    const ROUNDS = 40;
    for (let i = 1; i <= ROUNDS; i++) {
      fs.writeFileSync(template, stateText({ containerId: `sh-${i}` }));
      // One process per change, as a shell script driving runsc would be.
      const r = spawnSync("sh", [
        "-c",
        `cp "$1" "$2/sh-${i}_sandbox:sh-${i}.state" && if [ ${i} -gt 1 ]; then rm "$2/sh-${i - 1}_sandbox:sh-${i - 1}.state"; fi`,
        "sh",
        template,
        root,
      ]);
      expect(r.status).toBe(0);
      expectFound(store, `sh-${i}`);
      if (i > 1) expectNotFound(store, `sh-${i - 1}`);
    }
    expect(store.listSandboxes()).toEqual([`sh-${ROUNDS}`]);
  });
});

describe("fresh lookups (c): a store opened in a fresh process after changes made while none was open", () => {
  it("answers with every create, remove and rewrite made since the last store closed", async () => {
    const root = makeRoot();
    for (const id of ["keep", "gone-1", "gone-2", "rewrite"]) create(root, id, id, "created");
    const first = openStore({ root });
    await first.reconcile();
    expect(first.resolve("gone-1").containerId).toBe("gone-1");
    first.close();

    remove(root, "gone-1");
    remove(root, "gone-2");
    create(root, "new-1", "new-1", "running");
    create(root, "new-2", "new-1", "paused");
    fs.writeFileSync(statePath(root, "rewrite", "rewrite"), stateText({ containerId: "rewrite", status: "stopped" }));

    const script = path.join(makeTempDir("fresh-process"), "ask.mts");
    fs.writeFileSync(
      script,
      `
import { openStore } from ${JSON.stringify(srcUrl("index.ts"))};
const store = openStore({ root: ${JSON.stringify(root)} });
const resolved = {};
for (const id of ["keep", "gone-1", "gone-2", "new-1", "new-2", "rewrite", "new"]) {
  try { resolved[id] = store.resolve(id); } catch (e) { resolved[id] = e.code; }
}
const listed = (await store.list({ skipCheck: true })).map((c) => [c.containerId, c.sandboxId, c.status]);
console.log(JSON.stringify({ resolved, sandboxes: store.listSandboxes(), listed }));
store.close();
`,
    );
    const child = spawnTsx(script);
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(0);
    const out = JSON.parse(child.stdout().trim().split("\n").pop()!);
    expect(out.resolved).toEqual({
      keep: { containerId: "keep", sandboxId: "keep" },
      "gone-1": "ERR_NOT_FOUND",
      "gone-2": "ERR_NOT_FOUND",
      "new-1": { containerId: "new-1", sandboxId: "new-1" },
      "new-2": { containerId: "new-2", sandboxId: "new-1" },
      rewrite: { containerId: "rewrite", sandboxId: "rewrite" },
      new: "ERR_AMBIGUOUS_ID",
    });
    expect(out.sandboxes).toEqual(["keep", "new-1", "rewrite"]);
    expect(out.listed).toEqual([
      ["keep", "keep", "created"],
      ["new-1", "new-1", "running"],
      ["new-2", "new-1", "paused"],
      ["rewrite", "rewrite", "stopped"],
    ]);
  });

  it("a store in this process opened after another process changed the files answers right", async () => {
    const root = makeRoot();
    create(root, "before");
    const first = openStore({ root });
    expect(first.resolve("before").containerId).toBe("before");
    first.close();
    const r = spawnSync("sh", ["-c", 'rm "$1"/before_sandbox:before.state', "sh", root]);
    expect(r.status).toBe(0);
    const second = track(openStore({ root }));
    expectNotFound(second, "before");
  });
});

describe("fresh lookups (e): one-shot lookups (inotify off, as the CLI's find and state) after another's change", () => {
  /** The recorded name sync and the row count, read on a connection of the test's own. */
  function indexFacts(root: string): { synced: string | undefined; rows: number } {
    const db = new Database(path.join(root, ".runsc-index", "index.db"), { readonly: true });
    try {
      const synced = db.prepare("SELECT value FROM meta WHERE key = 'names_synced_at_ns'").pluck().get();
      const rows = db.prepare("SELECT count(*) FROM containers").pluck().get() as number;
      return { synced: synced === undefined ? undefined : String(synced), rows };
    } finally {
      db.close();
    }
  }

  it("answers from one listing of the root, writes nothing, and the next list records the sync", async () => {
    const root = makeRoot();
    for (const id of ["aa-keep", "bb-gone"]) create(root, id);
    const first = openStore({ root });
    await first.reconcile();
    first.close();
    const before = indexFacts(root);
    expect(before.rows).toBe(2);

    remove(root, "bb-gone");
    create(root, "cc-new-1");
    create(root, "cc-new-2", "aa-keep");
    const oneShot = track(openStore({ root, inotify: false }));
    expectFound(oneShot, "aa-keep");
    expectNotFound(oneShot, "bb-gone");
    expectFound(oneShot, "cc-new-1");
    expect(oneShot.resolve("cc-new-2")).toEqual({ containerId: "cc-new-2", sandboxId: "aa-keep" });
    expect(() => oneShot.resolve("cc-new"), "cc-new").toThrow(
      expect.objectContaining({
        code: "ERR_AMBIGUOUS_ID",
        candidates: [
          { containerId: "cc-new-1", sandboxId: "cc-new-1" },
          { containerId: "cc-new-2", sandboxId: "aa-keep" },
        ],
      }),
    );
    expect(indexFacts(root)).toEqual(before); // the index write is left for later

    const listed = (await oneShot.list({ skipCheck: true })).map((c) => c.containerId);
    expect(listed).toEqual(["aa-keep", "cc-new-1", "cc-new-2"]);
    const after = indexFacts(root);
    expect(after.rows).toBe(3);
    expect(after.synced).not.toBe(before.synced);
  });
});

describe("fresh lookups (d): the racy case", () => {
  it("a file created just before a new store opens is found, again and again", () => {
    const root = makeRoot();
    for (let i = 0; i < 100; i++) {
      create(root, `r-${i}`);
      const store = openStore({ root });
      try {
        expectFound(store, `r-${i}`);
        if (i > 0) expectFound(store, `r-${i - 1}`);
      } finally {
        store.close();
      }
      if (i % 2 === 1) remove(root, `r-${i - 1}`);
    }
  });

  it("a change in the same mtime tick as the last sync is still found", () => {
    // Force what a coarse clock does by chance: the root's mtime after a new file equals the
    // mtime recorded by the last sync (touch puts it back to the nanosecond). A sync that read
    // the mtime within the racy window must not be trusted, so the new store lists the root.
    const root = makeRoot();
    const store = track(openStore({ root }));
    let tried = 0;
    for (let i = 0; i < 50 && tried < 5; i++) {
      const opener = openStore({ root });
      create(root, `tick-a-${i}`);
      expectFound(opener, `tick-a-${i}`); // the first call of a store syncs names from the listing
      const afterMs = Date.now();
      opener.close();
      const synced = fs.statSync(root, { bigint: true }).mtimeNs;
      // Only a sync that read the mtime within 15 ms of it is racy by the rule; retry otherwise.
      if (BigInt(afterMs) * 1_000_000n - synced > 15_000_000n) continue;
      tried++;
      create(root, `tick-b-${i}`);
      const sec = synced / 1_000_000_000n;
      const nsec = String(synced % 1_000_000_000n).padStart(9, "0");
      const touch = spawnSync("touch", ["-m", "-d", `@${sec}.${nsec}`, root]);
      expect(touch.status, String(touch.stderr)).toBe(0);
      expect(fs.statSync(root, { bigint: true }).mtimeNs).toBe(synced);
      const fresh = openStore({ root });
      try {
        expectFound(fresh, `tick-b-${i}`);
      } finally {
        fresh.close();
      }
      expectFound(store, `tick-b-${i}`);
    }
    expect(tried).toBeGreaterThanOrEqual(1);
  });
});
