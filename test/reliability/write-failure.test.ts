/**
 * Writes that fail: a file-size limit (EFBIG), a read-only root (EROFS) and
 * a full file system (ENOSPC). Each must report ERR_IO naming the file and
 * leave the previous state file byte for byte as it was, with no temporary
 * file left behind.
 *
 * Tests run as root here, and chmod does not stop root from writing. So the
 * read-only and full roots are small tmpfs mounts (`mount -o remount,ro`,
 * `size=`), which root may make. Where mounting is not permitted (MOUNT_OK
 * false), a non-root run makes the root read-only with chmod 0555, and the
 * cases that need a mount are skipped.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TEMP_PREFIX } from "../../src/ids/file-names.js";
import { openStore, RunscIndexError, StateDocument, type Store } from "../../src/index.js";
import { makeTempDir, removeTempDirs, stateObject, statePath, writeState } from "../helpers/roots.js";
import { killShells, runShell, snapshotDir, workerPath } from "./support.js";

const stores: Store[] = [];
const mounts: string[] = [];
const madeReadOnly: string[] = [];

afterEach(async () => {
  await killShells();
  for (const s of stores.splice(0)) s.close();
  for (const dir of madeReadOnly.splice(0)) fs.chmodSync(dir, 0o700);
  // Lazy unmount: detaches even if something still has a file open there.
  for (const dir of mounts.splice(0)) spawnSync("umount", ["-l", dir]);
  removeTempDirs();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}

/** mountTmpfs mounts a tmpfs of sizeKiB on a new directory; undefined when this process may not mount. */
function mountTmpfs(sizeKiB: number): string | undefined {
  const dir = path.join(makeTempDir("mnt"), "root");
  fs.mkdirSync(dir);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0711`, "tmpfs", dir]);
  if (r.status !== 0) return undefined;
  mounts.push(dir);
  return dir;
}

function canMount(): boolean {
  const dir = mountTmpfs(64);
  if (dir === undefined) return false;
  spawnSync("umount", [dir]);
  mounts.splice(mounts.indexOf(dir), 1);
  return true;
}

const MOUNT_OK = canMount();
const IS_ROOT = process.getuid?.() === 0;

type IoError = RunscIndexError & { cause?: { code?: string } };

/** thrown runs fn and returns the RunscIndexError it rejects with (failing when it resolves). */
async function thrown(fn: () => Promise<unknown>): Promise<IoError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RunscIndexError);
    return e as IoError;
  }
  throw new Error("expected the call to fail");
}

function tempFiles(root: string): string[] {
  return fs.readdirSync(root).filter((n) => n.startsWith(TEMP_PREFIX));
}

describe("write failure: RLIMIT_FSIZE (EFBIG)", () => {
  /** A pad past the limit whichever shell sets it. */
  const OVER_LIMIT = 2 * 1024 * 1024;

  /** runBig runs workers/write-big.ts under `ulimit -f` with SIGXFSZ ignored, so write(2) returns EFBIG. */
  async function runBig(root: string, op: string, id: string, padBytes: number) {
    // dash counts ulimit -f in 512-byte blocks (512 KiB here), bash in KiB (1 MiB); the worker reports the bytes.
    const sh = runShell(`trap '' XFSZ; ulimit -f 1024; exec "${process.execPath}" --import tsx "$@"`, [
      "sh",
      workerPath("write-big.ts"),
      root,
      op,
      id,
      String(padBytes),
    ]);
    const r = await sh.finished;
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    return JSON.parse(r.stdout.trim()) as {
      limit: number;
      ok: boolean;
      code?: string;
      message?: string;
      cause?: string;
    };
  }

  it("update: ERR_IO naming the state file, the old bytes unchanged, no temp file left", async () => {
    const root = makeTempDir("fsize");
    const file = writeState(root, { containerId: "big" });
    const before = fs.readFileSync(file);
    const result = await runBig(root, "update", "big", OVER_LIMIT);
    expect([512 * 1024, 1024 * 1024]).toContain(result.limit);
    expect(result).toMatchObject({ ok: false, code: "ERR_IO", cause: "EFBIG" });
    expect(result.message).toContain(file);
    expect(fs.readFileSync(file)).toEqual(before);
    expect(tempFiles(root)).toEqual([]);
  });

  it("create: ERR_IO naming the state file, no state file and no temp file left", async () => {
    const root = makeTempDir("fsize");
    const result = await runBig(root, "create", "huge", OVER_LIMIT);
    expect(result).toMatchObject({ ok: false, code: "ERR_IO", cause: "EFBIG" });
    expect(result.message).toContain(statePath(root, "huge", "huge"));
    expect(fs.existsSync(statePath(root, "huge", "huge"))).toBe(false);
    expect(tempFiles(root)).toEqual([]);
  });

  it("a write under the limit in the same setting succeeds (the limit, not the setup, made the others fail)", async () => {
    const root = makeTempDir("fsize");
    const file = writeState(root, { containerId: "small" });
    const result = await runBig(root, "update", "small", 1000);
    expect(result).toMatchObject({ ok: true });
    expect(JSON.parse(fs.readFileSync(file, "utf8")).pad).toBe("p".repeat(1000));
  });
});

describe("write failure: read-only root (EROFS)", () => {
  /** A root with container "a" and its lock, index elsewhere, then made read-only. */
  function readOnlyRoot(): { root: string; index: string } | undefined {
    const root = MOUNT_OK ? mountTmpfs(1024) : IS_ROOT ? undefined : makeTempDir("ro");
    if (root === undefined) return undefined;
    writeState(root, { containerId: "a" });
    fs.writeFileSync(path.join(root, "a_sandbox:a.lock"), "", { mode: 0o600 });
    if (MOUNT_OK) expect(spawnSync("mount", ["-o", "remount,ro", root]).status).toBe(0);
    else {
      fs.chmodSync(root, 0o555);
      madeReadOnly.push(root);
    }
    return { root, index: path.join(makeTempDir("ro-index"), "index.db") };
  }

  const skip = !MOUNT_OK && IS_ROOT;
  it.skipIf(skip)("update, save, create and destroy fail with ERR_IO naming the file; nothing changes", async () => {
    const { root, index } = readOnlyRoot()!;
    const snapshot = snapshotDir(root);
    const store = track(openStore({ root, index }));
    const stateFile = statePath(root, "a", "a");

    const update = await thrown(() => store.update("a", (doc) => doc.set(["x"], 1)));
    expect(update.code).toBe("ERR_IO");
    expect(update.message).toContain(stateFile);

    const loaded = await store.load("a", { skipCheck: true });
    loaded.document.set(["x"], 2);
    const save = await thrown(() => store.save(loaded.document));
    expect(save.code).toBe("ERR_IO");
    expect(save.message).toContain(stateFile);

    const create = await thrown(() => store.create(stateObject({ containerId: "b", rootDir: root })));
    expect(create.code).toBe("ERR_IO");
    expect(create.message).toContain(path.join(root, "b_sandbox:b."));

    const destroy = await thrown(() => store.destroy("a"));
    expect(destroy.code).toBe("ERR_IO");
    expect(destroy.message).toContain(stateFile);

    for (const e of [update, save, create, destroy]) expect(["EROFS", "EACCES"]).toContain(e.cause?.code);
    expect(snapshotDir(root)).toEqual(snapshot);
    // Reads still work, and the index (elsewhere) still knows the container.
    expect((await store.list({ skipCheck: true })).map((c) => c.containerId)).toEqual(["a"]);
  });

  // Was a bug: SQLITE_CANTOPEN on a read-only file system counted as "corrupt", so a good index was deleted
  // (here the unlink failed and a raw EROFS escaped openStore).
  it.runIf(MOUNT_OK)(
    "openStore on a read-only root whose index is inside it fails with a RunscIndexError, and the index is kept",
    async () => {
      const root = mountTmpfs(1024)!;
      writeState(root, { containerId: "a" });
      const built = openStore({ root });
      await built.reconcile();
      built.close();
      expect(spawnSync("mount", ["-o", "remount,ro", root]).status).toBe(0);
      const snapshot = snapshotDir(root);
      let error: unknown;
      try {
        track(openStore({ root }));
      } catch (e) {
        error = e;
      }
      expect(snapshotDir(root)).toEqual(snapshot);
      expect(error).toBeInstanceOf(RunscIndexError);
      expect(error).toMatchObject({ code: "ERR_IO" });
      expect((error as Error).message).toContain(path.join(root, ".runsc-index"));
    },
  );
});

describe("write failure: full file system (ENOSPC)", () => {
  it.skipIf(!MOUNT_OK)("update: ERR_IO naming the state file, the old bytes unchanged, no temp file left", async () => {
    const root = mountTmpfs(256)!;
    const file = writeState(root, { containerId: "full" });
    fs.writeFileSync(path.join(root, "full_sandbox:full.lock"), "", { mode: 0o600 });
    // Fill the file system up; only a few KiB stay free.
    const filler = fs.openSync(path.join(root, "filler"), "w");
    try {
      const chunk = Buffer.alloc(4096, 1);
      for (;;) fs.writeSync(filler, chunk);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      fs.closeSync(filler);
    }
    const before = fs.readFileSync(file);
    const store = track(openStore({ root, index: path.join(makeTempDir("full-index"), "index.db") }));
    const e = await thrown(() => store.update("full", (doc) => doc.set(["pad"], "p".repeat(64 * 1024))));
    expect(e.code).toBe("ERR_IO");
    expect(e.message).toContain(file);
    expect(e.cause?.code).toBe("ENOSPC");
    expect(fs.readFileSync(file)).toEqual(before);
    expect(tempFiles(root)).toEqual([]);
    // The previous content is still what the store reads.
    expect(StateDocument.parse(fs.readFileSync(file, "utf8"), "full").get(["pad"])).toBeUndefined();
    expect((await store.load("full", { skipCheck: true })).document.get(["pad"])).toBeUndefined();
  });
});
