import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, StateDocument } from "../../src/index.js";
import { killSpawned, type Spawned, spawnProcess, spawnTsx, srcUrl, withTimeout } from "../helpers/foreign.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";

afterEach(async () => {
  await killSpawned();
  removeTempDirs();
});

/** Our writers: store.update increments "counter" and the writer's own field, K times. */
const NODE_WRITER = `
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from ${JSON.stringify(srcUrl("index.ts"))};
const [root, id, field, times, go] = process.argv.slice(2);
const store = openStore({ root });
store.resolve(id);
console.log("ready");
while (!fs.existsSync(go)) await sleep(2);
for (let i = 0; i < Number(times); i++) {
  await store.update(id, (doc) => {
    doc.set(["counter"], Number(doc.getPlain(["counter"])) + 1);
    doc.set([field], Number(doc.getPlain([field]) ?? 0) + 1);
  });
}
store.close();
console.log("done");
`;

/**
 * Foreign writers guarded by util-linux flock(1) on the same lock file, as
 * runsc would be: jq reads the file and either renames a temp file over it
 * ("mv") or rewrites it in place with O_TRUNC, as runsc's os.WriteFile does ("inplace").
 */
const SHELL_WRITER = `
state=$1 lock=$2 field=$3 times=$4 go=$5 mode=$6 tmp=$7
echo ready
while [ ! -e "$go" ]; do sleep 0.005; done
i=0
while [ $i -lt "$times" ]; do
  if [ "$mode" = mv ]; then
    flock -x "$lock" sh -c 'jq -c ".counter += 1 | .[\\"$3\\"] += 1" "$1" > "$2" && mv "$2" "$1"' _ "$state" "$tmp" "$field" || exit 1
  else
    flock -x "$lock" sh -c 'jq -c ".counter += 1 | .[\\"$3\\"] += 1" "$1" > "$2" && cat "$2" > "$1"' _ "$state" "$tmp" "$field" || exit 1
  fi
  i=$((i + 1))
done
echo done
`;

describe("store: concurrent writers on one state file", () => {
  it("4 processes using update and 2 flock(1)-guarded jq writers lose no increment", async () => {
    const NODE_WRITERS = 4;
    const K = 25;
    const root = makeRoot();
    const work = makeTempDir("concurrency");
    const state = writeState(root, { containerId: "c1", status: "running", edit: (d) => (d.counter = 0) });
    const go = path.join(work, "go");
    const nodeScript = path.join(work, "writer.mts");
    fs.writeFileSync(nodeScript, NODE_WRITER);
    const shellScript = path.join(work, "writer.sh");
    fs.writeFileSync(shellScript, SHELL_WRITER);

    const writers: Spawned[] = [];
    for (let i = 0; i < NODE_WRITERS; i++) {
      writers.push(spawnTsx(nodeScript, [root, "c1", `node${i}`, String(K), go]));
    }
    // The mv writer's temp file sits beside the state file (rename needs the same directory).
    writers.push(
      spawnProcess("sh", [
        shellScript,
        state,
        lockPath(root, "c1", "c1"),
        "shellMv",
        String(K),
        go,
        "mv",
        `${root}/.jq-tmp`,
      ]),
    );
    writers.push(
      spawnProcess("sh", [
        shellScript,
        state,
        lockPath(root, "c1", "c1"),
        "shellInPlace",
        String(K),
        go,
        "inplace",
        path.join(work, "inplace-tmp"),
      ]),
    );
    for (const w of writers)
      await withTimeout(
        w.line((l) => l === "ready"),
        30_000,
        "a writer to start",
      );
    fs.writeFileSync(go, "");
    const exits = await withTimeout(Promise.all(writers.map((w) => w.exited)), 25_000, "all writers to finish");
    writers.forEach((w, i) => {
      expect({ writer: i, ...exits[i], stderr: w.stderr() }).toEqual({ writer: i, code: 0, signal: null, stderr: "" });
      expect(w.stdout()).toContain("done");
    });

    const text = fs.readFileSync(state, "utf8");
    const doc = StateDocument.parse(text, "c1_sandbox:c1.state");
    expect(doc.getPlain(["counter"])).toBe((NODE_WRITERS + 2) * K);
    for (let i = 0; i < NODE_WRITERS; i++) expect(doc.getPlain([`node${i}`])).toBe(K);
    expect(doc.getPlain(["shellMv"])).toBe(K);
    expect(doc.getPlain(["shellInPlace"])).toBe(K);
    expect(doc.fields).toMatchObject({ containerId: "c1", sandboxId: "c1", storedStatus: "running" });

    // No temporary file of ours is left, and the store reads the result.
    expect(fs.readdirSync(root).filter((n) => n.startsWith(".runsc-index-tmp."))).toEqual([]);
    const store = openStore({ root });
    try {
      const c = await store.load("c1", { skipCheck: true });
      expect(c.document.getPlain(["counter"])).toBe((NODE_WRITERS + 2) * K);
    } finally {
      store.close();
    }
  });
});
