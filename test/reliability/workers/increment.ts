/**
 * Concurrency worker: `increment.ts ROOT GO_FILE ROUNDS ID...`. Once GO_FILE
 * exists, ROUNDS times over the IDs, store.update adds 1 to the top-level
 * unknown field "counter" and copies it into spec.annotations["test.counter"].
 * Prints "ready" after opening the store and "done N" at the end.
 */
import { openStore } from "../../../src/index.js";
import { fail, waitForFile } from "./common.js";

const [root, goFile, roundsText, ...ids] = process.argv.slice(2);
if (!root || !goFile || !roundsText || ids.length === 0) fail("usage: increment.ts ROOT GO_FILE ROUNDS ID...");
const store = openStore({ root });
console.log("ready");
await waitForFile(goFile);
let done = 0;
for (let round = 0; round < Number(roundsText); round++) {
  for (const id of ids) {
    try {
      await store.update(id, (doc) => {
        const next = Number(doc.getPlain(["counter"])) + 1;
        if (!Number.isSafeInteger(next)) throw new Error(`counter of ${id} is ${String(doc.getPlain(["counter"]))}`);
        doc.set(["counter"], next);
        doc.set(["spec", "annotations", "test.counter"], String(next));
      });
      done++;
    } catch (e) {
      fail(`update of ${id} in round ${round}`, e);
    }
  }
}
store.close();
console.log(`done ${done}`);
