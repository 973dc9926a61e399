/**
 * The soak's worker processes (run with tsx): `updater`, `lister` and
 * `pruner` loop on the root until the stop file exists, then exit. Each
 * prints one JSON line per event and a final {"done": counts} line.
 *   updater: sets `owner` of a live container to a fresh marker (store.update);
 *            prints {"update": id, "marker", "t0", "t1"} for each write.
 *   lister:  store.list() and store.resolve() of every listed ID.
 *   pruner:  store.prune(); prints {"pruned": name} for each file it removed.
 * Any error other than a container vanishing (ERR_NOT_FOUND) is printed as
 * {"error": message} and counted.
 */
import fs from "node:fs";
import { openStore, RunscIndexError } from "../../src/index.js";

const [role, root, stopFile] = process.argv.slice(2) as [string, string, string];
const store = openStore({ root });
const counts: Record<string, number> = { ops: 0, vanished: 0, errors: 0 };

function print(event: object): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function once(n: number): Promise<void> {
  switch (role) {
    case "updater": {
      const live = (await store.list({ skipCheck: true })).filter((c) => c.status !== "stopped");
      const c = live[n % Math.max(1, live.length)];
      if (c === undefined) return;
      const marker = `soak-${n}`;
      const t0 = Date.now();
      await store.update(c.containerId, (doc) => doc.set(["owner"], marker), { exact: true, sandbox: c.sandboxId });
      print({ update: c.containerId, marker, t0, t1: Date.now() });
      return;
    }
    case "lister":
      for (const c of await store.list()) store.resolve(c.containerId);
      await new Promise((r) => setTimeout(r, 20)); // two shared cores: leave room for runsc
      return;
    case "pruner":
      for (const f of (await store.prune()).removed) print({ pruned: f.name });
      await new Promise((r) => setTimeout(r, 100));
      return;
  }
}

for (let n = 0; !fs.existsSync(stopFile); n++) {
  try {
    await once(n);
    counts.ops! += 1;
  } catch (e) {
    if (e instanceof RunscIndexError && e.code === "ERR_NOT_FOUND") counts.vanished! += 1;
    else {
      counts.errors! += 1;
      print({ error: String((e as Error).message) });
    }
  }
}
store.close();
print({ done: counts });
