/**
 * Race worker: `create-one.ts ROOT INDEX_DB ID`: another process creating
 * one container (state file renamed into place, then its index row), run
 * by the races suite at a chosen moment. Prints "created".
 */
import { openStore, StateDocument } from "../../../src/index.js";
import { stateObject } from "../../helpers/roots.js";
import { fail } from "./common.js";

const [root, index, id] = process.argv.slice(2);
if (!root || !index || !id) fail("usage: create-one.ts ROOT INDEX_DB ID");
const store = openStore({ root, index, inotify: false });
try {
  await store.create(StateDocument.from(stateObject({ containerId: id, rootDir: root })));
} catch (e) {
  fail(`create ${id}`, e);
}
store.close();
console.log("created");
