/**
 * The real runsc as the reference: sandboxes started with the installed runsc
 * (ptrace platform, no network), and for each case `list`, `list
 * --format=json`, `list --quiet` and `state ID` of runsc-index compared byte
 * for byte with what runsc prints for the same root at the same moment. Our
 * command line runs in this process (runProgram, the code main.js runs) so
 * the suite stays within minutes; the output format is detected from the
 * host's runsc, as in production.
 *
 * Skipped, with one line saying so, where runsc is missing or we are not
 * root; RUNSC_INDEX_REQUIRE_RUNSC=1 makes that a failure.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect } from "vitest";
import { runProgram } from "../../src/cli/program.js";
import { openStore } from "../../src/index.js";
import { StateDocument } from "../../src/state/document.js";
import { killSpawned, processState, spawnProcess, spawnTsx, srcUrl, waitUntil } from "../helpers/foreign.js";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";
import { isRunscProcess, REQUIRE_RUNSC, RUNSC, RunscRoot, reportSkips, runscIt, SKIP_REASON } from "./runsc.js";

const roots: RunscRoot[] = [];

afterEach(async () => {
  for (const r of roots.splice(0)) r.cleanUp();
  await killSpawned();
  removeTempDirs();
});

afterAll(() => {
  for (const r of roots.splice(0)) r.cleanUp();
});

function newRoot(): RunscRoot {
  const r = new RunscRoot(makeTempDir("runsc"));
  roots.push(r);
  return r;
}

interface Ours {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** ours runs our command line in this process against the root, as `runsc-index --root R ...args`. */
async function ours(r: RunscRoot, ...args: string[]): Promise<Ours> {
  let stdout = "";
  let stderr = "";
  const status = await runProgram(["--root", r.root, ...args], {
    out: (s) => {
      stdout += s;
    },
    err: (s) => {
      stderr += s;
    },
    errIsTTY: false,
  });
  return { status, stdout, stderr };
}

async function oursOk(r: RunscRoot, ...args: string[]): Promise<string> {
  const o = await ours(r, ...args);
  expect(o.stderr, `runsc-index ${args.join(" ")}`).toBe("");
  expect(o.status).toBe(0);
  return o.stdout;
}

/** Cases compared, for the report: name -> "same" or the documented difference. */
const table: [string, string][] = [];

/**
 * same compares list (table, JSON, quiet) and `state ID` of every ID, runsc
 * first, then ours, byte for byte; returns runsc's JSON listing parsed.
 */
async function same(caseName: string, r: RunscRoot, ids: readonly string[]): Promise<{ id: string; status: string }[]> {
  const runscList = r.ok(["list"]);
  const runscJson = r.ok(["list", "--format=json"]);
  const runscQuiet = r.ok(["list", "--quiet"]);
  const runscStates = ids.map((id) => r.ok(["state", id]));
  expect(await oursOk(r, "list"), `${caseName}: list`).toBe(runscList);
  expect(await oursOk(r, "list", "--format", "json"), `${caseName}: list --format json`).toBe(runscJson);
  expect(await oursOk(r, "list", "-q"), `${caseName}: list -q`).toBe(runscQuiet);
  for (const [i, id] of ids.entries()) {
    expect(await oursOk(r, "state", id), `${caseName}: state ${id}`).toBe(runscStates[i]);
  }
  table.push([caseName, "same"]);
  return JSON.parse(runscJson) ?? [];
}

/** runscStatus is the status `runsc state` reports now. */
function runscStatus(r: RunscRoot, id: string): string {
  return JSON.parse(r.ok(["state", id])).status;
}

async function untilRunscSays(r: RunscRoot, id: string, status: string): Promise<void> {
  await waitUntil(`runsc state ${id} says ${status}`, () => runscStatus(r, id) === status, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
}

/**
 * killSandbox SIGKILLs the sandbox process runsc started for `id` and waits
 * until it is gone (reaped: PID 1 here reaps lazily, up to seconds) or, with
 * `zombie`, until it is a zombie (its parent does not reap).
 */
async function killSandbox(r: RunscRoot, id: string, until: "gone" | "zombie" = "gone"): Promise<number> {
  const pid = JSON.parse(r.ok(["state", id])).pid as number;
  expect(isRunscProcess(pid)).toBe(true);
  process.kill(pid, "SIGKILL");
  const want = until === "gone" ? undefined : "Z";
  await waitUntil(`sandbox ${pid} is ${until}`, () => processState(pid) === want, { timeoutMs: 30_000 });
  return pid;
}

describe("list and state beside the real runsc", () => {
  runscIt("one container's life: created, running, paused, resumed, its process killed, deleted", async () => {
    const r = newRoot();
    const b = r.bundle("b");
    r.create("life", b);
    expect((await same("created", r, ["life"]))[0]).toMatchObject({ status: "created" });
    // The format was detected from the host's runsc, and the answer cached in the root's index directory
    // (which a read command never creates: reconcile makes it).
    await oursOk(r, "reconcile");
    await same("created", r, ["life"]);
    const spec = /^spec: (\S+)$/m.exec(r.ok(["--version"]))?.[1];
    const cached = JSON.parse(fs.readFileSync(path.join(r.root, ".runsc-index", "runsc-version.json"), "utf8"));
    expect(cached.flavor.ociVersion).toBe(spec);
    r.ok(["start", "life"]);
    expect((await same("running", r, ["life"]))[0]).toMatchObject({ status: "running" });
    r.ok(["pause", "life"]);
    expect((await same("paused", r, ["life"]))[0]).toMatchObject({ status: "paused" });
    r.ok(["resume", "life"]);
    expect((await same("resumed", r, ["life"]))[0]).toMatchObject({ status: "running" });
    r.ok(["kill", "life", "KILL"]);
    await untilRunscSays(r, "life", "stopped");
    expect((await same("root container's process killed", r, ["life"]))[0]).toMatchObject({ status: "stopped" });
    r.ok(["delete", "life"]);
    await same("deleted (list)", r, []);
    // state of a deleted container: both fail; runsc exits 128, we exit 3 (not found).
    const gone = r.run(["state", "life"]);
    expect(gone.status).toBe(128);
    expect(gone.stderr).toContain("file does not exist");
    const o = await ours(r, "state", "life");
    expect(o.status).toBe(3);
    expect(o.stdout).toBe("");
    expect(o.stderr).toContain('"life"');
    table.push(["deleted (state)", "documented: runsc exit 128, ours exit 3 (ERR_NOT_FOUND)"]);
  });

  runscIt(
    "a pod: a sub-container's process exited while its sandbox lives is stopped, the sandbox running",
    async () => {
      const r = newRoot();
      const sandbox = { "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "pod-s" };
      const app = { "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "pod-s" };
      r.create("pod-s", r.bundle("b-sandbox", { annotations: sandbox }));
      r.ok(["start", "pod-s"]);
      r.create("app1", r.bundle("b-app1", { annotations: app, args: ["/bin/true"] }));
      r.create("app2", r.bundle("b-app2", { annotations: app }));
      r.ok(["start", "app1"]);
      r.ok(["start", "app2"]);
      await untilRunscSays(r, "app1", "stopped");
      const listed = await same("sub-container exited, sandbox alive", r, ["app1", "app2", "pod-s"]);
      expect(listed.map((c) => [c.id, c.status])).toEqual([
        ["app1", "stopped"],
        ["app2", "running"],
        ["pod-s", "running"],
      ]);
      // The strict check sees a live sandbox for all three: it looks at the sandbox process only.
      const strict = JSON.parse(await oursOk(r, "list", "--format", "json", "--strict-liveness"));
      expect(strict.map((c: { liveness: string }) => c.liveness)).toEqual(["alive", "alive", "alive"]);
    },
  );

  runscIt("the sandbox process killed while created, running and paused", async () => {
    const r = newRoot();
    r.create("kc", r.bundle("bc"));
    r.create("kr", r.bundle("br"));
    r.ok(["start", "kr"]);
    r.create("kp", r.bundle("bp"));
    r.ok(["start", "kp"]);
    r.ok(["pause", "kp"]);
    for (const id of ["kc", "kr", "kp"]) await killSandbox(r, id);
    const listed = await same("sandbox killed (created, running, paused)", r, ["kc", "kp", "kr"]);
    // paused is never checked: it stays paused with its dead PID.
    expect(listed.map((c) => [c.id, c.status])).toEqual([
      ["kc", "stopped"],
      ["kp", "paused"],
      ["kr", "stopped"],
    ]);
    const strict = JSON.parse(await oursOk(r, "state", "kp", "--strict-liveness"));
    expect(strict).toMatchObject({ status: "paused", strictStatus: "stopped", liveness: "gone" });
  });

  runscIt(
    "a sandbox left a zombie: created stays created (signal 0 reaches a zombie), running is stopped",
    async () => {
      const r = newRoot();
      const bz = r.bundle("bz");
      // A parent that adopts the sandbox (PR_SET_CHILD_SUBREAPER) and never reaps it: its corpse stays a zombie.
      const dir = makeTempDir("reaper");
      const script = path.join(dir, "reaper.mts");
      fs.writeFileSync(
        script,
        `import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
const koffi = createRequire(${JSON.stringify(srcUrl("index.ts"))})("koffi");
const prctl = koffi.load("libc.so.6").func("int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)");
if (prctl(36, 1, 0, 0, 0) !== 0) throw new Error("PR_SET_CHILD_SUBREAPER failed");
const [runsc, root, bundle, ...ids] = process.argv.slice(2);
for (const id of ids) {
  const out = fs.openSync(${JSON.stringify(path.join(dir, "out"))}, "a");
  const r = spawnSync(runsc, ["--root", root, "--network=none", "--platform=ptrace", "create", "--bundle", bundle, id], { stdio: ["ignore", out, out] });
  if (r.status !== 0) throw new Error("runsc create " + id + " failed: " + fs.readFileSync(${JSON.stringify(path.join(dir, "out"))}, "utf8"));
}
console.log("created");
setInterval(() => {}, 1000);
`,
      );
      const reaper = spawnTsx(script, [RUNSC!, r.root, bz, "zc", "zr"]);
      await reaper.line((l) => l === "created");
      r.adopt("zc");
      r.adopt("zr");
      r.ok(["start", "zr"]);
      const pids = [await killSandbox(r, "zc", "zombie"), await killSandbox(r, "zr", "zombie")];
      for (const pid of pids) expect(processState(pid)).toBe("Z");
      const listed = await same("sandbox a zombie (created, running)", r, ["zc", "zr"]);
      expect(listed.map((c) => [c.id, c.status])).toEqual([
        ["zc", "created"],
        ["zr", "stopped"],
      ]);
      const strict = JSON.parse(await oursOk(r, "state", "zc", "--strict-liveness"));
      expect(strict).toMatchObject({ status: "created", strictStatus: "stopped", liveness: "zombie" });
      r.cleanUp();
      await reaper.kill(); // the zombies go to init, which reaps them
    },
  );

  runscIt(
    "IDs and bundle paths with &<>, non-ASCII and emoji; owners; creation times in other time zones",
    async () => {
      const r = newRoot();
      r.create("a.b+c-d_e", r.bundle("bundle &<> ünï 😀"), { USER: "öwner&<>😀" });
      r.create("kolkata", r.bundle("b-tz1"), { TZ: "Asia/Kolkata", USER: "" });
      r.create("st-johns", r.bundle("b-tz2"), { TZ: "America/St_Johns" });
      const listed = await same("odd IDs, bundle paths, owners, time zones", r, ["a.b+c-d_e", "kolkata", "st-johns"]);
      expect(listed.map((c) => c.status)).toEqual(["created", "created", "created"]);
      expect(r.ok(["list"])).toMatch(/\+05:30 /);
      expect(r.ok(["list"])).toContain("öwner&<>😀");
      expect(r.ok(["list", "--format=json"])).toContain("\\u0026\\u003c\\u003e");
    },
  );

  runscIt(
    "state of a missing or ambiguous ID fails in both; an exact ID that prefixes another: runsc fails, we answer",
    async () => {
      const r = newRoot();
      const b = r.bundle("b");
      r.create("x", b);
      r.create("x2", r.bundle("b2"));
      r.create("y1", r.bundle("b3"));
      const missing = r.run(["state", "nope"]);
      const oMissing = await ours(r, "state", "nope");
      expect([missing.status, oMissing.status]).toEqual([128, 3]);
      const ambiguous = r.run(["state", "y"]);
      expect(ambiguous.status).toBe(0); // one container starts with "y": runsc's prefix rule, as ours
      expect(await oursOk(r, "state", "y")).toBe(ambiguous.stdout);
      const exact = r.run(["state", "x"]);
      expect(exact.status).toBe(128);
      expect(exact.stderr).toContain("ambiguous");
      expect(JSON.parse(await oursOk(r, "state", "x")).id).toBe("x");
      const prefix = await ours(r, "state", "");
      expect(prefix.status).not.toBe(0);
      table.push(["state of a missing ID", "documented: runsc exit 128, ours exit 3"]);
      table.push([
        "state of an exact ID that prefixes another",
        "documented: runsc exit 128 (ambiguous), ours prints it",
      ]);
    },
  );
});

describe("writes of runsc-index beside the real runsc", () => {
  runscIt(
    "after create, update, save and destroy by the library, runsc state, list, pause, resume, kill, delete succeed",
    async () => {
      const r = newRoot();
      r.create("w1", r.bundle("b"));
      r.ok(["start", "w1"]);
      const store = openStore({ root: r.root });
      try {
        await store.update("w1", (doc) => {
          doc.set(["owner"], "changed-by-runsc-index");
        });
        expect(JSON.parse(r.ok(["list", "--format=json"]))[0]).toMatchObject({ id: "w1", status: "running" });
        expect(r.ok(["list"])).toContain("changed-by-runsc-index");
        const loaded = await store.load("w1");
        await store.save(loaded.document);
        r.ok(["state", "w1"]);
        r.ok(["pause", "w1"]);
        r.ok(["resume", "w1"]);
        // A new container written by the library (a copy of w1's document under another ID): runsc loads it.
        const copy = StateDocument.parse(loaded.document.encode(), "copy");
        copy.set(["id"], "w1-copy");
        copy.set(["saver", "id", "containerId"], "w1-copy");
        await store.create(copy);
        expect(JSON.parse(r.ok(["state", "w1-copy"]))).toMatchObject({ id: "w1-copy", status: "stopped" });
        // runsc's order is by file name: "w1-copy_sandbox:" before "w1_sandbox:".
        expect(r.ok(["list", "--quiet"])).toBe("w1-copy\nw1\n");
        await store.destroy("w1-copy", { exact: true });
        expect(r.ok(["list", "--quiet"])).toBe("w1\n");
        r.ok(["kill", "w1", "KILL"]);
        await untilRunscSays(r, "w1", "stopped");
        r.ok(["delete", "w1"]);
        expect(r.ok(["list", "--quiet"])).toBe("");
      } finally {
        store.close();
      }
    },
  );

  runscIt("pause and resume save the copy they loaded: a write made in their gap is undone", async () => {
    const r = newRoot();
    r.create("g1", r.bundle("b"));
    r.ok(["start", "g1"]);
    const lockFile = path.join(r.root, "g1_sandbox:g1.lock");
    const stateFile = path.join(r.root, "g1_sandbox:g1.state");
    let lost = 0;
    let kept = 0;
    for (let attempt = 0; attempt < 12 && lost === 0; attempt++) {
      const op = runscStatus(r, "g1") === "running" ? "pause" : "resume";
      // We hold the lock; runsc queues on it; a writer queues behind; then we let go.
      const holder = spawnProcess("flock", ["-x", lockFile, "sleep", "600"]);
      await waitUntil("the holder has the lock", () => locksOn(lockFile).some((l) => !l.waiting));
      const runsc = r.runAsync([op, "g1"]);
      await waitUntil("runsc waits for the lock", () => locksOn(lockFile).filter((l) => l.waiting).length >= 1);
      const marker = `gap-${attempt}`;
      const before = JSON.parse(fs.readFileSync(stateFile, "utf8")).owner;
      const writer = spawnProcess("flock", ["-x", lockFile, process.execPath, "-e", OWNER_WRITER, stateFile, marker]);
      await waitUntil("the writer waits too", () => locksOn(lockFile).filter((l) => l.waiting).length >= 2);
      await holder.kill();
      const result = await runsc;
      await writer.exited;
      expect(result.status, result.stderr).toBe(0);
      const owner = JSON.parse(fs.readFileSync(stateFile, "utf8")).owner;
      // Either the writer went first (runsc loaded and kept its write) or in runsc's gap (undone).
      expect([marker, before]).toContain(owner);
      if (owner === marker) kept++;
      else lost++;
    }
    console.log(`lock gap: ${lost} writes undone by runsc, ${kept} kept`);
    expect(lost).toBeGreaterThan(0);
  });
});

const SOAK_SECONDS = Number(process.env.RUNSC_INDEX_SOAK_SECONDS ?? 60);

describe("soak: runsc and runsc-index on one root", () => {
  runscIt(
    `runsc create/start/pause/resume/delete in a loop for ${SOAK_SECONDS} s while our processes update, list, resolve and prune`,
    async () => {
      const r = newRoot();
      const bundle = r.bundle("b");
      fs.mkdirSync(r.root, { recursive: true, mode: 0o711 });
      const stopFile = path.join(makeTempDir("soak"), "stop");
      const script = fileURLToPath(new URL("./soak.ts", import.meta.url));
      const workers = ["updater", "lister", "pruner"].map((role) => spawnTsx(script, [role, r.root, stopFile]));
      const ops: { id: string; op: string; t0: number; t1: number }[] = [];
      const checks: { id: string; owner: string; t: number }[] = [];
      const failures: string[] = [];
      const store = openStore({ root: r.root });
      const step = async (id: string, op: string, args: string[]) => {
        const t0 = Date.now();
        const res = await r.runAsync(args);
        ops.push({ id, op, t0, t1: Date.now() });
        if (res.status !== 0) failures.push(`runsc ${args.join(" ")}: exit ${res.status}: ${res.stderr.trim()}`);
      };
      const deadline = Date.now() + SOAK_SECONDS * 1000;
      let n = 0;
      try {
        for (; Date.now() < deadline && failures.length === 0; n++) {
          const id = `soak${n}`;
          r.adoptName(id);
          await step(id, "create", ["create", "--bundle", bundle, id]);
          r.adopt(id);
          await step(id, "start", ["start", id]);
          await step(id, "pause", ["pause", id]);
          await step(id, "resume", ["resume", id]);
          // What our updates left, read under the lock just before the delete.
          const t = Date.now();
          checks.push({ id, owner: (await store.load(id, { exact: true, skipCheck: true })).fields.owner, t });
          await step(id, "delete", ["delete", "--force", id]);
        }
      } finally {
        fs.writeFileSync(stopFile, "");
        await Promise.all(workers.map((w) => w.exited));
      }
      const events = workers.map((w) =>
        w
          .stdout()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
      const [updates, listerEvents, prunerEvents] = events as [
        { update?: string; marker: string; t0: number; t1: number; error?: string }[],
        { error?: string; done?: Record<string, number> }[],
        { pruned?: string; error?: string }[],
      ];
      // Lost updates: the last marker written to a container before its check is not what the check read.
      let lost = 0;
      let predicted = 0;
      for (const check of checks) {
        const written = updates.filter((u) => u.update === check.id && u.t1 < check.t);
        const last = written.at(-1);
        if (last === undefined || check.owner === last.marker) continue;
        lost++;
        // Predicted (docs): written in the gap of a runsc start/pause/resume, which saves the copy it loaded.
        const inGap = ops.some(
          (o) => o.id === check.id && ["start", "pause", "resume"].includes(o.op) && o.t0 <= last.t1 && last.t0 <= o.t1,
        );
        if (inGap) predicted++;
      }
      // The index equals a fresh rebuild of the same files.
      await store.reconcile();
      const columns = "container_id, sandbox_id, status, pid, owner, created_at, annotations";
      const indexed = await store.query(`SELECT ${columns} FROM containers ORDER BY 1, 2`);
      store.close();
      const fresh = openStore({ root: r.root, index: path.join(makeTempDir("fresh"), "index.db"), readonly: true });
      const rebuilt = await fresh.query(`SELECT ${columns} FROM containers ORDER BY 1, 2`);
      fresh.close();
      // No torn file: every state file left parses.
      const torn = fs
        .readdirSync(r.root)
        .filter((f) => f.endsWith(".state"))
        .filter((f) => {
          try {
            JSON.parse(fs.readFileSync(path.join(r.root, f), "utf8"));
            return false;
          } catch {
            return true;
          }
        });
      const errors = events.flat().filter((e) => (e as { error?: string }).error !== undefined);
      const done = events.map((e) => e.find((x) => (x as { done?: unknown }).done)) as {
        done: Record<string, number>;
      }[];
      console.log(
        `soak ${SOAK_SECONDS} s: ${n} containers, ${ops.length} runsc commands (${failures.length} failed); ` +
          `${updates.filter((u) => u.update).length} updates, ${lost} lost (${predicted} in a runsc start/pause/resume gap); ` +
          `lister ${done[1]?.done.ops} passes, pruner removed ${prunerEvents.filter((e) => e.pruned).length} files; ` +
          `vanished under us: ${done.map((d) => d?.done.vanished).join("/")}; torn files: ${torn.length}`,
      );
      expect(failures).toEqual([]);
      expect(errors).toEqual([]);
      expect(torn).toEqual([]);
      expect(rebuilt.rows).toEqual(indexed.rows);
      expect(lost).toBe(predicted);
      expect(n).toBeGreaterThan(0);
      expect(listerEvents.length).toBeGreaterThan(0);
    },
    (SOAK_SECONDS + 120) * 1000,
  );
  // The last runscIt of the file: every one has been counted now (describe bodies run in order).
  reportSkips("test/runsc");
});

/** Sets "owner" in a state file: run under flock(1), which holds the container's lock meanwhile. */
const OWNER_WRITER = `
const fs = require("node:fs");
const [file, owner] = process.argv.slice(1);
const doc = JSON.parse(fs.readFileSync(file, "utf8"));
doc.owner = owner;
fs.writeFileSync(file + ".tmp", JSON.stringify(doc));
fs.renameSync(file + ".tmp", file);
`;

/** locksOn lists /proc/locks entries on the file's inode: held, or waiting ("->"). */
function locksOn(file: string): { waiting: boolean }[] {
  let ino: number;
  try {
    ino = fs.statSync(file).ino;
  } catch {
    return [];
  }
  return fs
    .readFileSync("/proc/locks", "utf8")
    .split("\n")
    .filter((l) => l.includes(`:${ino} `))
    .map((l) => ({ waiting: l.includes("->") }));
}

if (SKIP_REASON === undefined || REQUIRE_RUNSC) {
  afterAll(() => {
    if (table.length > 0) console.log(`runsc cases:\n${table.map(([c, v]) => `  ${c}: ${v}`).join("\n")}`);
  });
}
