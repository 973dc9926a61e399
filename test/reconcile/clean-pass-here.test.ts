import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseIdPair } from "../../src/ids/id.js";
import { reconcile } from "../../src/reconcile/reconcile.js";
import { makeRoot, removeTempDirs, statePath, stateText, writeState } from "../helpers/roots.js";
import { closeOpened, countList, countRowReads, openIndex } from "./pass-probes.js";

afterEach(() => {
  closeOpened();
  removeTempDirs();
});

const AGED_S = Math.floor(Date.now() / 1000) - 60;

function age(root: string): void {
  for (const name of fs.readdirSync(root)) {
    if (name.endsWith(".state")) fs.utimesSync(path.join(root, name), AGED_S, AGED_S);
  }
}

describe("reconcile: the clean-pass shortcut with stats in this thread (statx, no worker)", () => {
  async function afterCleanPass() {
    const root = makeRoot();
    for (let i = 0; i < 20; i++) writeState(root, { containerId: `h${i}`, status: "running" });
    age(root);
    const index = openIndex(root);
    expect((await reconcile(root, index)).added).toBe(20);
    expect((await reconcile(root, index)).unchanged).toBe(20);
    expect(index.meta.get("clean_pass")).toBeDefined();
    return { root, index };
  }

  it("a small root's pass with nothing changed reads no row", async () => {
    const { root, index } = await afterCleanPass();
    const reads = countRowReads(index);
    expect(countList(await reconcile(root, index))).toEqual([20, 20, 0, 0, 0]);
    expect(reads()).toBe(0);
  });

  it("finds an in-place write whose mtime was put back, a removal and an addition", async () => {
    const { root, index } = await afterCleanPass();
    const file = statePath(root, "h3", "h3");
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    fs.writeSync(fd, stateText({ containerId: "h3", status: "stopped", rootDir: root }));
    fs.closeSync(fd);
    fs.utimesSync(file, AGED_S, AGED_S);
    fs.rmSync(statePath(root, "h1", "h1"));
    writeState(root, { containerId: "new" });
    expect(countList(await reconcile(root, index))).toEqual([20, 18, 1, 1, 1]);
    expect(index.row(parseIdPair("h3", "h3"))?.status).toBe("stopped");
  });

  it("worker threads and this thread make the same digest of the same files", async () => {
    const { root, index } = await afterCleanPass();
    const here = index.meta.get("clean_pass");
    expect(countList(await reconcile(root, index, { statWorkersFrom: 1 }))).toEqual([20, 20, 0, 0, 0]);
    expect(index.meta.get("clean_pass")).toBe(here);
  });
});
