/**
 * A stand-in for `runsc-index` while dist/src/cli/main.cjs is not built, so the
 * whole-process figures still run (and are labelled "stand-in" in the report):
 *
 *   node dist/bench/cli-standin.js --root ROOT find PREFIX
 *   node dist/bench/cli-standin.js --root ROOT list --format json
 *
 * find does what the CLI's find does: openStore without inotify, resolve, print.
 * list prints the summaries as JSON (not runsc's exact bytes).
 */
import { openStore } from "../src/index.js";

const [flag, root, command, arg, value] = process.argv.slice(2);
if (flag !== "--root" || !root || !(command === "find" ? arg : arg === "--format" && value === "json")) {
  process.stderr.write("usage: cli-standin --root ROOT find PREFIX | list --format json\n");
  process.exit(2);
}
const store = openStore({ root, inotify: false, readonly: true });
try {
  if (command === "find") process.stdout.write(`${store.resolve(arg!).containerId}\n`);
  else {
    const rows = await store.list();
    const states = rows.map((r) => ({ id: r.containerId, status: r.status, pid: r.pid, bundle: r.bundleDir }));
    process.stdout.write(`${JSON.stringify(states)}\n`);
  }
} catch (err) {
  process.stderr.write(`cli-standin: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  store.close();
}
