/**
 * Concurrency worker: `churn.ts ROOT GO_FILE TAG COUNT COUNTER_ID...`. Once
 * GO_FILE exists, COUNT times: create container churn-TAG-i, check that
 * resolve, load and list see it, then destroy it (every fourth one is kept)
 * and check that it is gone; between those, look up the counter containers
 * (resolve, an ambiguous prefix, list, listSandboxes). Prints "ready", then
 * a JSON line {"kept": [...], "ops": n}.
 */
import fs from "node:fs";
import path from "node:path";
import { openStore, StateDocument } from "../../../src/index.js";
import { stateObject } from "../../helpers/roots.js";
import { errorCode, fail, waitForFile } from "./common.js";

const [root, goFile, tag, countText, ...counterIds] = process.argv.slice(2);
if (!root || !goFile || !tag || !countText || counterIds.length === 0) {
  fail("usage: churn.ts ROOT GO_FILE TAG COUNT COUNTER_ID...");
}
const store = openStore({ root });
console.log("ready");
await waitForFile(goFile);

function expectCode(what: string, fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (errorCode(e) === code) return;
    fail(`${what}: expected ${code}`, e);
  }
  fail(`${what}: expected ${code}, got an answer`);
}

/** step runs one operation, failing with its name (and the file's presence) when it throws. */
async function step<T>(what: string, id: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const present = fs.existsSync(path.join(root!, `${id}_sandbox:${id}.state`));
    return fail(`${what} (state file ${present ? "present" : "absent"})`, e);
  }
}

const kept: string[] = [];
let ops = 0;
for (let i = 0; i < Number(countText); i++) {
  const id = `churn-${tag}-${i}`;
  const doc = StateDocument.from(stateObject({ containerId: id, status: "created", rootDir: root }));
  await step(`create ${id}`, id, () => store.create(doc));
  const found = await step(`resolve ${id} right after create`, id, () => store.resolve(id));
  if (found.containerId !== id) fail(`resolve ${id} right after create gave ${found.containerId}`);
  const loaded = await step(`load ${id} after resolve`, id, () => store.load(id, { exact: true, skipCheck: true }));
  if (loaded.fields.containerId !== id || loaded.status !== "created") fail(`load ${id} gave ${loaded.status}`);
  const listed = await step(`list after creating ${id}`, id, () => store.list({ skipCheck: true }));
  const names = new Set(listed.map((c) => c.containerId));
  for (const want of [id, ...counterIds]) if (!names.has(want)) fail(`list after creating ${id} lacks ${want}`);
  for (const c of counterIds) {
    const r = await step(`resolve ${c}`, c, () => store.resolve(c));
    if (r.containerId !== c) fail(`resolve ${c} gave another container`);
  }
  expectCode("resolve of the shared prefix ctr-", () => store.resolve("ctr-"), "ERR_AMBIGUOUS_ID");
  const sandboxes = new Set<string>(store.listSandboxes());
  for (const c of counterIds) if (!sandboxes.has(c)) fail(`listSandboxes lacks ${c}`);
  if (i % 4 === 0) kept.push(id);
  else {
    await step(`destroy ${id}`, id, () => store.destroy(id, { exact: true }));
    expectCode(`resolve ${id} after destroy`, () => store.resolve(id), "ERR_NOT_FOUND");
  }
  ops += 8;
}
store.close();
console.log(JSON.stringify({ kept, ops }));
