/**
 * Worker thread for full reconciles: reads and decodes a batch of state files
 * and posts back the rows, flattened (encodeResults). Decoding is the CPU cost of a reconcile, so two
 * workers use both cores while the main thread writes to SQLite.
 */
import { parentPort } from "node:worker_threads";
import { parseStateFileName } from "../ids/file-names.js";
import { encodeResults, type ReadResult, readIndexRow } from "./read-state.js";

export interface ParseRequest {
  readonly root: string;
  readonly names: readonly string[];
  readonly withState: boolean;
}

parentPort?.on("message", (req: ParseRequest) => {
  const results: ReadResult[] = [];
  for (const name of req.names) {
    const ids = parseStateFileName(name);
    if (ids === undefined) results.push({ kind: "invalid", name, reason: "file name does not parse", torn: false });
    else results.push(readIndexRow(req.root, name, ids, req.withState));
  }
  parentPort?.postMessage(encodeResults(results));
});
