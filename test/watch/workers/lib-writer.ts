/**
 * `lib-writer.ts ROOT GO_FILE PREFIX COUNT`: a runsc-index library writer.
 * Prints "ready", waits for GO_FILE, then runs the plan of test/watch/plan.ts
 * through Store.create/update/destroy and prints "done".
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore } from "../../../src/index.js";
import { stateObject } from "../../helpers/roots.js";
import { rounds } from "../plan.js";

const [root, goFile, prefix, countText] = process.argv.slice(2);
if (!root || !goFile || !prefix || !countText) throw new Error("usage: lib-writer.ts ROOT GO_FILE PREFIX COUNT");
const store = openStore({ root });
console.log("ready");
while (!fs.existsSync(goFile)) await sleep(5);
for (const [id, step] of rounds(prefix, Number(countText))) {
  if (step.kind === "remove") await store.destroy(id, { exact: true });
  else if (step.status === "created")
    await store.create(stateObject({ containerId: id, status: "created", rootDir: root }));
  else {
    await store.update(
      id,
      (doc) => {
        doc.status = step.status as typeof doc.status;
      },
      { exact: true },
    );
  }
}
store.close();
console.log("done");
