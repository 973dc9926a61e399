/**
 * `watch` on a degraded host (issue 10): the root deleted and recreated under
 * it, and inotify capacity exhausted. Real processes, real inotify limits.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { capacityHint } from "../../src/freshness/inotify.js";
import { ENOSPC } from "../../src/native/libc.js";
import { killSpawned } from "../helpers/foreign.js";
import { makeRoot, makeTempDir, removeTempDirs, writeState } from "../helpers/roots.js";
import { CLI, ensureBuilt, killRunningClis, startCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(async () => {
  await killRunningClis();
  await killSpawned();
  removeTempDirs();
});

const NOBODY = 65534;

describe("watch on a degraded host", () => {
  it("the root deleted and recreated under a running watch: it exits 1 saying why, never watching the dead inode", async () => {
    const root = makeRoot();
    writeState(root, { containerId: "c1" });
    const watch = startCli(["--root", root, "watch"]);
    await watch.waitFor("stderr", /^watching /m);
    fs.rmSync(root, { recursive: true });
    fs.mkdirSync(root, { mode: 0o711 });
    writeState(root, { containerId: "c2" });
    const exited = await watch.exited;
    expect(exited.status).toBe(1);
    expect(watch.stderr()).toContain(`watching "${root}": the root was deleted, moved or replaced; restart the watch`);
  });

  it("inotify instances exhausted: exit 1 naming EMFILE and fs.inotify.max_user_instances", async () => {
    // A user of our own (nobody) whose every inotify instance is held by another process.
    const limit = Number(fs.readFileSync("/proc/sys/fs/inotify/max_user_instances", "utf8"));
    const holder = spawn(
      "setpriv",
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        `import ctypes,sys,time
libc=ctypes.CDLL("libc.so.6",use_errno=True)
fds=[libc.inotify_init1(0) for _ in range(${limit})]
print(sum(1 for f in fds if f>=0),flush=True)
time.sleep(60)`,
      ],
      { stdio: ["ignore", "pipe", "ignore"], detached: true },
    );
    try {
      const held = await new Promise<number>((resolve) =>
        holder.stdout!.once("data", (d) => resolve(Number(String(d)))),
      );
      expect(held).toBeGreaterThan(0);
      const dir = makeTempDir("nobody");
      fs.chmodSync(dir, 0o777);
      const root = `${dir}/root`;
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        let stderr = "";
        const child = spawn(
          "setpriv",
          [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, CLI, "--root", root, "watch"],
          { stdio: ["ignore", "ignore", "pipe"] },
        );
        child.stderr!.on("data", (d) => {
          stderr += String(d);
        });
        child.on("close", (status) => resolve({ status, stderr }));
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/EMFILE: too many inotify instances \(raise fs\.inotify\.max_user_instances, now \d+/);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
  });

  it("inotify watches exhausted (ENOSPC) names fs.inotify.max_user_watches", () => {
    // Exhausting the system's watches would disturb every other process on the host: the wording alone.
    expect(capacityHint("inotify_add_watch", ENOSPC)).toMatch(
      /^inotify_add_watch: ENOSPC: inotify watches exhausted \(raise fs\.inotify\.max_user_watches, now \d+: sysctl -w fs\.inotify\.max_user_watches=N\)$/,
    );
  });
});
