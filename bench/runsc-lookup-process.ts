/**
 * The "runsc-style prefix lookup process" of SPEC section 7, compared with
 * `runsc-index find` as a whole process: `node dist/bench/runsc-lookup-process.js ROOT PREFIX`
 * prints the container ID, or an error and exit 1.
 *
 * The spec's own figure comes from a Go program doing runsc's findContainerID;
 * no Go toolchain is available here, so this is the same algorithm
 * (bench/baselines.ts runscPrefixLookup) in Node. Its start-up cost is Node's
 * (`node -e ''` ~0.1 s), the same runtime `runsc-index find` pays.
 */
import { runscPrefixLookup } from "./baselines.js";

const [root, prefix] = process.argv.slice(2);
if (!root || prefix === undefined) {
  process.stderr.write("usage: runsc-lookup-process ROOT PREFIX\n");
  process.exit(2);
}
try {
  process.stdout.write(runscPrefixLookup(root, prefix) + "\n");
} catch (err) {
  process.stderr.write(`runsc-lookup-process: ${(err as Error).message}\n`);
  process.exit(1);
}
