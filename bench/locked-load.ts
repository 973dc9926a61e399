import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { flock, LOCK_EX, LOCK_UN } from "../src/native/libc.js";
import { runscList } from "./baselines.js";

/**
 * lockedLoadAll loads every container as `runsc list` does, without runsc's
 * per-container RPC to the sandbox: list the root, then for each state file
 * take flock(2) LOCK_EX on its .lock (opened O_RDONLY|O_CREAT, 0600, as
 * gofrs/flock does), read, JSON.parse, unlock and close. Returns how many
 * loaded. Kept apart from baselines.ts so the lookup process never loads koffi.
 */
export function lockedLoadAll(root: string): number {
  let loaded = 0;
  for (const { containerId, sandboxId } of runscList(root)) {
    if (loadLocked(`${root}/${containerId}_sandbox:${sandboxId}`)) loaded++;
  }
  return loaded;
}

function loadLocked(base: string): boolean {
  const fd = openSync(base + ".lock", constants.O_RDONLY | constants.O_CREAT, 0o600);
  try {
    const locked = flock(fd, LOCK_EX);
    if (locked.result < 0) throw new Error(`locking "${base}.lock": errno ${locked.errno}`);
    return JSON.parse(readFileSync(base + ".state", "utf8")) !== null;
  } catch (err) {
    // runsc list warns and skips a container that vanished after the listing.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  } finally {
    flock(fd, LOCK_UN);
    closeSync(fd);
  }
}
