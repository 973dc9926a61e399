/**
 * Child of the watch figure: another process's `find`. It opens the store as
 * the CLI does (no inotify of its own: a watcher vouches), then for each
 * stdin line "<id>" resolves it until found and prints "<id> <epoch ms>".
 */
import { createInterface } from "node:readline";
import { openStore } from "../src/index.js";

const root = process.argv[2];
if (!root) throw new Error("usage: watch-reader.js ROOT");
const store = openStore({ root, readonly: true, inotify: false });
process.stdout.write("ready\n");
for await (const id of createInterface({ input: process.stdin })) {
  for (;;) {
    try {
      store.resolve(id);
      break;
    } catch {
      // not visible yet
    }
  }
  process.stdout.write(`${id} ${performance.timeOrigin + performance.now()}\n`);
}
store.close();
