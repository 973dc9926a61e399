/**
 * The "locked load of every file" comparison of SPEC section 7 as a whole
 * process: `node dist/bench/runsc-list-process.js ROOT` loads every container
 * under its lock as `runsc list` does (bench/locked-load.ts) and prints the
 * count. The spec's 40 s figure is a Go program; no Go toolchain here, so this
 * is the same protocol in Node, and it skips runsc's per-sandbox RPC as that figure does.
 */
import { lockedLoadAll } from "./locked-load.js";

const [root] = process.argv.slice(2);
if (!root) {
  process.stderr.write("usage: runsc-list-process ROOT\n");
  process.exit(2);
}
try {
  process.stdout.write(lockedLoadAll(root) + "\n");
} catch (err) {
  process.stderr.write(`runsc-list-process: ${(err as Error).message}\n`);
  process.exit(1);
}
