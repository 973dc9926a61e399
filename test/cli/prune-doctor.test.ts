/** `prune` (orphan locks and stale temporary files, under their locks) and `doctor`. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SANDBOX_ID, FIXTURE_SUB_ID, lockPath, makeRoot, removeTempDirs, statePath } from "../helpers/roots.js";
import { ensureBuilt, errorLine, holdLock, killRunningClis, releaseLocks, runCli, startCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(async () => {
  await releaseLocks();
  await killRunningClis();
  removeTempDirs();
});

interface PruneReport {
  dryRun: boolean;
  removed: { name: string; kind: string }[];
  skipped: { name: string; reason: string }[];
}

/** Our temporary file name for a write of this container (see src/ids/file-names.ts): the tag is sha1 of its base name. */
function tempName(containerId: string, sandboxId: string): string {
  const tag = createHash("sha1").update(`${containerId}_sandbox:${sandboxId}`).digest("hex").slice(0, 16);
  return `.runsc-index-tmp.4242.7.${tag}`;
}

/** snapshot maps each file in root to its bytes (the index directory left out). */
function snapshot(root: string): Map<string, string> {
  return new Map(
    fs
      .readdirSync(root)
      .filter((n) => n !== ".runsc-index")
      .map((n) => [n, fs.readFileSync(path.join(root, n), "latin1")]),
  );
}

/** makeOld sets the files' mtime a minute back: past prune's 10 s age for orphan lock files. */
function makeOld(root: string, ...names: string[]): void {
  const aMinuteAgo = new Date(Date.now() - 60_000);
  for (const name of names) fs.utimesSync(path.join(root, name), aMinuteAgo, aMinuteAgo);
}

describe("prune", () => {
  it("prune: removes orphan lock files and stale temporary files, skips held locks, never touches a .state file", async () => {
    const root = makeRoot({ fixtures: true });
    const orphan = "gone_sandbox:gone.lock";
    fs.writeFileSync(path.join(root, orphan), "", { mode: 0o600 });
    const temp = tempName(FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID);
    fs.writeFileSync(path.join(root, temp), '{"id":"half-writ');
    // runsc holds the lock of a container being created before its state file exists.
    const creating = "creating_sandbox:creating.lock";
    const holder = await holdLock(path.join(root, creating));
    // A state file without a lock file, and one that does not parse: neither is prune's business.
    fs.writeFileSync(statePath(root, "nolock", "nolock"), "{}");
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":');
    // A young orphan lock may be a runsc create's about to be locked: left alone and not reported.
    const young = "young_sandbox:young.lock";
    fs.writeFileSync(path.join(root, young), "");
    makeOld(root, orphan, creating);
    const before = snapshot(root);

    const dry = runCli(["--root", root, "prune", "--dry-run", "--json"]);
    expect(dry.status).toBe(0);
    const planned = JSON.parse(dry.stdout) as PruneReport;
    expect(planned.dryRun).toBe(true);
    expect(planned.removed).toEqual(
      expect.arrayContaining([
        { name: orphan, kind: "orphan-lock" },
        { name: temp, kind: "temp-file" },
      ]),
    );
    expect(planned.removed).toHaveLength(2);
    expect(planned.skipped).toEqual([{ name: creating, reason: expect.stringContaining("held") }]);
    expect(snapshot(root)).toEqual(before);

    const r = runCli(["--root", root, "prune", "--json"]);
    expect(r.status).toBe(0);
    const done = JSON.parse(r.stdout) as PruneReport;
    expect(done.dryRun).toBe(false);
    expect(done.removed).toEqual(planned.removed);
    const after = snapshot(root);
    expect([...after.keys()].sort()).toEqual([...before.keys()].filter((n) => n !== orphan && n !== temp).sort());
    for (const [name, bytes] of after) expect(bytes, name).toBe(before.get(name));

    expect(runCli(["--root", root, "prune"]).stdout).toBe(`skipped ${creating}: ${planned.skipped[0]!.reason}\n`);
    await holder.release();
    expect(runCli(["--root", root, "prune"]).stdout).toBe(`removed ${creating} (orphan lock file)\n`);
    expect(runCli(["--root", root, "prune", "--dry-run"]).stdout).toBe("nothing to prune\n");
    expect(fs.existsSync(path.join(root, young))).toBe(true);
  });

  it("prune: an orphan lock file younger than 10 s stays; once older it goes", () => {
    const root = makeRoot();
    const lock = "fresh_sandbox:fresh.lock";
    fs.writeFileSync(path.join(root, lock), "");
    expect(runCli(["--root", root, "prune"]).stdout).toBe("nothing to prune\n");
    expect(fs.existsSync(path.join(root, lock))).toBe(true);
    const nineSecondsAgo = new Date(Date.now() - 9_000);
    fs.utimesSync(path.join(root, lock), nineSecondsAgo, nineSecondsAgo);
    expect(runCli(["--root", root, "prune"]).stdout).toBe("nothing to prune\n");
    makeOld(root, lock);
    expect(runCli(["--root", root, "prune"]).stdout).toBe(`removed ${lock} (orphan lock file)\n`);
    expect(fs.existsSync(path.join(root, lock))).toBe(false);
  });

  it("prune --dry-run: says what it would remove, in words", () => {
    const root = makeRoot({ fixtures: true });
    const temp = tempName(FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID);
    fs.writeFileSync(path.join(root, temp), "");
    fs.rmSync(statePath(root, FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID));
    const lock = path.basename(lockPath(root, FIXTURE_SUB_ID, FIXTURE_SANDBOX_ID));
    makeOld(root, lock);
    const lines = runCli(["--root", root, "prune", "--dry-run"]).stdout.split("\n");
    expect(lines.sort()).toEqual(
      ["", `would remove ${lock} (orphan lock file)`, `would remove ${temp} (stale temporary file)`].sort(),
    );
    expect(fs.existsSync(path.join(root, lock))).toBe(true);
  });
});

describe("doctor", () => {
  it("doctor: a healthy index reports ok, counts and integrity, exit 0", () => {
    const root = makeRoot({ fixtures: true });
    const r = runCli(["--root", root, "doctor"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("integrity: ok\n");
    expect(r.stdout).toContain("counts:    2 containers in 1 sandboxes, 0 pending, 0 invalid files\n");
    expect(r.stdout.endsWith("\nok\n")).toBe(true);
    const report = JSON.parse(runCli(["--root", root, "doctor", "--json"]).stdout);
    expect(report).toMatchObject({
      ok: true,
      integrity: "ok",
      counts: { containers: 2, sandboxes: 1, invalid: 0 },
      driftAfter: { missing: 0, extra: 0 },
      problems: [],
      watcher: null,
    });
  });

  it("doctor: an invalid state file is a problem: listed, one line on stderr, exit 1", () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":');
    const r = runCli(["--root", root, "doctor", "--json"]);
    expect(r.status).toBe(1);
    expect(errorLine(r.stderr)).toBe("runsc-index: doctor found 1 problem");
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.invalidFiles).toEqual([{ name: "torn_sandbox:torn.state", reason: expect.any(String) }]);
    expect(report.problems).toEqual([expect.stringContaining('invalid file "torn_sandbox:torn.state"')]);
  });

  it("doctor: a state file that cannot be read is still reported after a reconcile has seen it", () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(statePath(root, "torn", "torn"), '{"id":');
    expect(runCli(["--root", root, "reconcile"]).stdout).toContain("1 invalid");
    const r = runCli(["--root", root, "doctor"]);
    expect(r.stdout).toContain('invalid file "torn_sandbox:torn.state"');
    expect(r.status).toBe(1);
  });

  it("doctor: names a running watcher", async () => {
    const root = makeRoot({ fixtures: true });
    const watch = startCli(["--root", root, "watch"]);
    await watch.waitFor("stderr", /^watching /m);
    const report = JSON.parse(runCli(["--root", root, "doctor", "--json"]).stdout);
    expect(report.watcher).toMatchObject({ pid: watch.child.pid, alive: true });
    expect(runCli(["--root", root, "doctor"]).stdout).toMatch(new RegExp(`watcher: +pid ${watch.child.pid} \\(alive`));
  });
});
