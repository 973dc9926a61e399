/**
 * Crash worker: `crash-loop.ts ROOT ID...`. Prints "opening" just before
 * openStore and "ready" once the store is open, then loops until killed: for a random ID it creates the container
 * when missing, else updates it, saves a loaded copy, or destroys it. Every
 * document it writes carries a version "counter" n, a "check" derived from
 * the ID and n, and a "pad" whose length and text depend on n, so the parent
 * can tell a whole version from a torn or mixed one (see crashDocOk).
 * Races with the other workers give ERR_NOT_FOUND or ERR_ALREADY_EXISTS;
 * anything else is a failure: one line on stderr and exit 1.
 */
import { openStore, type StateDocument } from "../../../src/index.js";
import { stateObject } from "../../helpers/roots.js";
import { crashVersion } from "../crash-doc.js";
import { errorCode, fail } from "./common.js";

const [root, ...ids] = process.argv.slice(2);
if (!root || ids.length === 0) fail("usage: crash-loop.ts ROOT ID...");
console.log("opening");
const store = openStore({ root });
console.log("ready");

function stamp(doc: StateDocument, id: string, n: number): void {
  const v = crashVersion(id, n);
  doc.set(["counter"], v.counter);
  doc.set(["check"], v.check);
  doc.set(["pad"], v.pad);
}

const EXPECTED_RACES = new Set(["ERR_NOT_FOUND", "ERR_ALREADY_EXISTS"]);

for (;;) {
  const id = ids[Math.floor(Math.random() * ids.length)]!;
  const dice = Math.random();
  try {
    try {
      store.resolve(id);
    } catch (e) {
      if (errorCode(e) !== "ERR_NOT_FOUND") throw e;
      const v = crashVersion(id, 0);
      await store.create(
        stateObject({ containerId: id, status: "created", rootDir: root, edit: (d) => Object.assign(d, v) }),
      );
      continue;
    }
    if (dice < 0.45) {
      await store.update(id, (doc) => stamp(doc, id, Number(doc.getPlain(["counter"])) + 1), { exact: true });
    } else if (dice < 0.85) {
      const c = await store.load(id, { exact: true, skipCheck: true });
      stamp(c.document, id, Number(c.document.getPlain(["counter"])) + 1);
      await store.save(c.document);
    } else {
      await store.destroy(id, { exact: true });
    }
  } catch (e) {
    if (!EXPECTED_RACES.has(errorCode(e) ?? "")) fail(`operation on ${id}`, e);
  }
}
