/**
 * Write-failure worker: `write-big.ts ROOT OP ID PAD_BYTES`, run under a
 * file-size limit (ulimit -f). OP "update" grows container ID's state file
 * by a "pad" field of PAD_BYTES; OP "create" creates container ID that big.
 * Prints one JSON line: {"limit": bytes, "ok": bool, "code", "message", "cause"}.
 */
import fs from "node:fs";
import { openStore } from "../../../src/index.js";
import { stateObject } from "../../helpers/roots.js";
import { errorCode, fail } from "./common.js";

const [root, op, id, padText] = process.argv.slice(2);
if (!root || !op || !id || !padText) fail("usage: write-big.ts ROOT OP ID PAD_BYTES");
const limits = fs.readFileSync("/proc/self/limits", "utf8");
const limit = /^Max file size\s+(\S+)/m.exec(limits)?.[1];
const pad = "p".repeat(Number(padText));
const store = openStore({ root });
const result: Record<string, unknown> = { limit: limit === "unlimited" ? null : Number(limit), ok: true };
try {
  if (op === "update") await store.update(id, (doc) => doc.set(["pad"], pad), { exact: true });
  else await store.create(stateObject({ containerId: id, rootDir: root, edit: (d) => Object.assign(d, { pad }) }));
} catch (e) {
  const cause = (e as { cause?: unknown }).cause;
  Object.assign(result, { ok: false, code: errorCode(e), message: (e as Error).message, cause: errorCode(cause) });
}
store.close();
console.log(JSON.stringify(result));
