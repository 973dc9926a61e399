/**
 * Worker thread for incremental passes: lstat a share of the root's names.
 * A pass over 100,000 files is mostly lstat(2) calls; on two cores, two
 * threads make them in about half the time while the main thread reads the
 * index. Results go back as one transferred Float64Array, no copying, with
 * the share's digest sums (files-digest.ts).
 */
import fs from "node:fs";
import { parentPort } from "node:worker_threads";
import { digestSums } from "./files-digest.js";
import { STAT_FIELDS, type StatReply, type StatRequest } from "./stat-messages.js";

parentPort?.on("message", ({ dir, names }: StatRequest) => {
  const out = new Float64Array(names.length * STAT_FIELDS).fill(Number.NaN);
  names.forEach((name, i) => {
    const st = fs.lstatSync(`${dir}/${name}`, { throwIfNoEntry: false });
    if (st === undefined) return;
    const at = i * STAT_FIELDS;
    out[at] = st.size;
    out[at + 1] = st.mtimeMs;
    out[at + 2] = st.ctimeMs;
    out[at + 3] = st.ino;
  });
  const digest = digestSums(names, out, STAT_FIELDS);
  parentPort?.postMessage({ stats: out, digest } satisfies StatReply, [out.buffer]);
});
