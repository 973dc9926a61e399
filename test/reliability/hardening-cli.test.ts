/**
 * Hardening (issue 10) and "reads have no side effects" (issue 12), command
 * line side: planted FIFOs never hang a command, a full disk and a
 * non-root user get answers or one line saying what is missing, and read
 * commands on a missing root create nothing. One test per point.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, type CliResult, ensureBuilt, runCli } from "../cli/cli.js";
import { lockPath, makeRoot, makeTempDir, removeTempDirs, statePath, writeState } from "../helpers/roots.js";

beforeAll(ensureBuilt);

const mounts: string[] = [];
afterEach(() => {
  for (const dir of mounts.splice(0)) spawnSync("umount", ["-l", dir]);
  removeTempDirs();
});

/** runsc list's header on a root without containers. */
const RUNSC_LIST_HEADER = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n";
/** Generous for a loaded machine; a hang would be forever. */
const NO_HANG_MS = 20_000;

function mkfifo(file: string): void {
  expect(spawnSync("mkfifo", ["-m", "0600", file]).status).toBe(0);
}

function timed(args: readonly string[]): CliResult & { ms: number } {
  const started = Date.now();
  const r = runCli(args, { timeoutMs: NO_HANG_MS * 2 });
  return { ...r, ms: Date.now() - started };
}

/** stderrLines: stderr as lines, without the trailing empty one. */
function stderrLines(r: CliResult): string[] {
  return r.stderr.split("\n").filter((l) => l !== "");
}

/** A root with container c1 (state and lock file), its index built by root. */
function rootWithContainer(): string {
  const root = makeRoot();
  writeState(root, { containerId: "c1", status: "stopped" });
  fs.writeFileSync(lockPath(root, "c1", "c1"), "", { mode: 0o600 });
  expect(runCli(["--root", root, "reconcile"]).status).toBe(0);
  return root;
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory()) for (const n of listTree(path.join(dir, e.name))) out.push(`${e.name}/${n}`);
  }
  return out.sort();
}

describe("hardening (CLI): nothing hangs", () => {
  it("show, state, list, query, prune, doctor and the index's open lock return within their timeouts on a planted FIFO, with an error naming it", () => {
    const root = rootWithContainer();
    const lock = lockPath(root, "c1", "c1");
    fs.rmSync(lock);
    mkfifo(lock);
    mkfifo(statePath(root, "f1", "f1"));
    mkfifo(lockPath(root, "orphan", "orphan"));
    for (const cmd of [
      ["state", "c1"],
      ["show", "c1"],
      ["--lock-timeout", "1000", "state", "c1"],
    ]) {
      const r = timed(["--root", root, ...cmd]);
      expect(r.ms, cmd.join(" ")).toBeLessThan(NO_HANG_MS);
      expect(r.status, cmd.join(" ")).toBe(1);
      expect(stderrLines(r), cmd.join(" ")).toEqual([expect.stringContaining(lock)]);
      expect(r.stderr).toMatch(/a FIFO, not a regular file/);
    }
    const list = timed(["--root", root, "list", "--format", "json"]);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout).map((s: { id: string }) => s.id)).toEqual(["c1"]);
    const query = timed(["--root", root, "query", "SELECT name, reason FROM invalid_files", "--format", "json"]);
    expect(query.status).toBe(0);
    expect(query.stdout).toContain("f1_sandbox:f1.state");
    expect(query.stdout).toContain("FIFO");
    const doctor = timed(["--root", root, "doctor"]);
    expect(doctor.ms).toBeLessThan(NO_HANG_MS);
    expect(doctor.status).toBe(1);
    expect(doctor.stdout + doctor.stderr).toContain("f1_sandbox:f1.state");
    const prune = timed(["--root", root, "prune", "--json"]);
    expect(prune.status).toBe(0);
    expect(JSON.parse(prune.stdout).skipped).toEqual([
      { name: "orphan_sandbox:orphan.lock", reason: "a FIFO, not a regular file" },
    ]);
    expect(fs.lstatSync(lockPath(root, "orphan", "orphan")).isFIFO()).toBe(true);
    // The index's open lock: a FIFO beside a new index is an error naming it, not a wait.
    const index = path.join(makeTempDir("idx"), "index.db");
    mkfifo(`${index}.open.lock`);
    const r = timed(["--root", root, "--index", index, "reconcile"]);
    expect(r.ms).toBeLessThan(NO_HANG_MS);
    expect(r.status).toBe(1);
    expect(stderrLines(r)).toEqual([expect.stringContaining(`${index}.open.lock`)]);
  });
});

describe("hardening (CLI): degraded hosts", () => {
  it.skipIf(process.getuid?.() !== 0)(
    "a full disk: find, state and show still answer from the files, and the error says what is full",
    () => {
      const dir = path.join(makeTempDir("mnt"), "root");
      fs.mkdirSync(dir);
      if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0711", "tmpfs", dir]).status !== 0) return;
      mounts.push(dir);
      writeState(dir, { containerId: "a1", status: "stopped" });
      expect(runCli(["--root", dir, "reconcile"]).status).toBe(0);
      // A container the index has not seen yet, then the disk filled to the last block.
      writeState(dir, { containerId: "b2", status: "stopped" });
      const filler = fs.openSync(path.join(dir, "filler"), "w");
      try {
        for (const size of [65536, 4096, 512, 1]) {
          try {
            for (;;) fs.writeSync(filler, Buffer.alloc(size, 1));
          } catch (e) {
            expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
          }
        }
      } finally {
        fs.closeSync(filler);
      }
      const find = runCli(["--root", dir, "find", "b"]);
      expect([find.status, find.stdout]).toEqual([0, "b2\n"]);
      const state = runCli(["--root", dir, "state", "b2"]);
      expect(state.status).toBe(0);
      expect(JSON.parse(state.stdout).id).toBe("b2");
      const show = runCli(["--root", dir, "show", "b2"]);
      expect(show.status).toBe(0);
      expect(show.stdout).toContain("b2");
      const reconcile = runCli(["--root", dir, "reconcile", "--full"]);
      expect(reconcile.status).toBe(1);
      expect(stderrLines(reconcile)).toEqual([expect.stringMatching(/full/)]);
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    "a non-root user running list, query and find on a root-owned root gets correct read-only answers or one line saying what permission is missing",
    () => {
      const asNobody = (args: readonly string[]): CliResult => {
        const r = spawnSync(
          "setpriv",
          ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, CLI, ...args],
          // The same runsc output format as runCli's (test/cli/cli.ts).
          { encoding: "utf8", timeout: 30_000, env: { ...process.env, RUNSC_INDEX_RUNSC_FORMAT: "current" } },
        );
        return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
      };
      const queries: string[][] = [
        ["list", "--format", "json"],
        ["query", "SELECT container_id, status FROM containers", "--format", "json"],
        ["find", "c"],
      ];
      // Readable files (root 0755, files 0644): the same answers root gets, and nothing created.
      const open = rootWithContainer();
      fs.chmodSync(open, 0o755);
      fs.chmodSync(statePath(open, "c1", "c1"), 0o644);
      const before = listTree(open);
      for (const q of queries) {
        const mine = runCli(["--root", open, ...q]);
        const theirs = asNobody(["--root", open, ...q]);
        expect([theirs.status, theirs.stdout, theirs.stderr], q[0]).toEqual([0, mine.stdout, ""]);
      }
      expect(listTree(open)).toEqual(before);
      // runsc's modes (root 0711, files 0640): one line saying what permission is missing.
      const closed = rootWithContainer();
      const closedBefore = listTree(closed);
      for (const q of queries) {
        const r = asNobody(["--root", closed, ...q]);
        expect(r.status, q[0]).toBe(1);
        expect(stderrLines(r), q[0]).toEqual([expect.stringMatching(/permission denied/)]);
        expect(r.stderr, q[0]).toContain(closed);
      }
      // Building the index there needs write permission: one line saying so, and where else it can go.
      const build = asNobody(["--root", closed, "reconcile"]);
      expect(build.status).toBe(1);
      expect(stderrLines(build)).toEqual([expect.stringMatching(/permission denied.*--index FILE/)]);
      expect(listTree(closed)).toEqual(closedBefore);
    },
  );
});

describe("reads have no side effects (CLI, issue 12)", () => {
  it("find, list, state, show, query and doctor on a missing root create nothing and print what runsc prints, plus one line saying the root does not exist", () => {
    const base = makeTempDir("missing");
    const root = path.join(base, "runsc");
    const notice = `runsc-index: root "${root}" does not exist`;
    const list = runCli(["--root", root, "list"]);
    expect([list.status, list.stdout, stderrLines(list)]).toEqual([0, RUNSC_LIST_HEADER, [notice]]);
    const state = runCli(["--root", root, "state", "abc"]);
    expect(state.status).toBe(3);
    expect(stderrLines(state)).toEqual([notice, 'runsc-index: container "abc" does not exist']);
    for (const cmd of [
      ["find", "abc"],
      ["show", "abc"],
    ]) {
      const r = runCli(["--root", root, ...cmd]);
      expect(r.status, cmd[0]).toBe(3);
      expect(stderrLines(r)[0], cmd[0]).toBe(notice);
    }
    const query = runCli(["--root", root, "query", "SELECT count(*) AS n FROM containers", "--format", "json"]);
    expect(query.status).toBe(0);
    expect(query.stdout).toContain('"n":0');
    expect(runCli(["--root", root, "doctor"]).stderr.split("\n")[0]).toBe(notice);
    expect(fs.readdirSync(base)).toEqual([]);
    // An existing root without an index: read commands answer and leave it as it was.
    const plain = makeRoot();
    writeState(plain, { containerId: "p1", status: "stopped" });
    const before = listTree(plain);
    expect(runCli(["--root", plain, "find", "p"]).stdout).toBe("p1\n");
    expect(runCli(["--root", plain, "list", "-q"]).stdout).toBe("p1\n");
    expect(listTree(plain)).toEqual(before);
  });
});
