/**
 * The CPU cost of issue 9's write check, per state file (the fixtures):
 * parse, the Go type and saver check, Go-ordered encode, and the index's
 * field read. Run: `npx tsx bench/write-check.ts` (no files are written).
 * Compare with a checkout before the check by timing parse+encode there.
 */
import { readFileSync } from "node:fs";
import { StateDocument } from "../src/state/document.js";
import { indexFields } from "../src/state/index-fields.js";

const DIR = new URL("../test/fixtures/runsc/", import.meta.url);
const NAMES = [
  "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd_sandbox:9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd.state",
  "9579ebb61881f99b1104b8f83d8200c965f160b3311e18d6736036ce7e07b6e5_sandbox:9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd.state",
];

/** microsPerOp: the median of 5 rounds of n calls, in µs per call. */
function microsPerOp(fn: () => void, n = 5_000): number {
  for (let i = 0; i < 1_000; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t) / n / 1_000);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

for (const name of NAMES) {
  const text = readFileSync(new URL(name, DIR), "utf8");
  const doc = StateDocument.parse(text, name);
  const figures = {
    parse: microsPerOp(() => StateDocument.parse(text, name)),
    checkWritable: microsPerOp(() => doc.checkWritable("/run/containerd/runsc/k8s.io")),
    encode: microsPerOp(() => doc.encode()),
    indexFields: microsPerOp(() => indexFields(text, name)),
  };
  const shown = Object.entries(figures).map(([k, v]) => `${k} ${v.toFixed(1)} µs`);
  console.log(`${name.slice(0, 12)}… (${text.length} B): ${shown.join(", ")}`);
}
