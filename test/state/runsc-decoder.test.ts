/**
 * The write check against the real decoder: `runsc state` (Debian's
 * 20221219) loads a state file with Go's json.Unmarshal into its own types.
 * For every document here the check and runsc agree: what runsc loads passes,
 * what it cannot load is refused. No sandbox is started: `state` only loads
 * the file (a dead sandbox reads "stopped").
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CorruptStateError, StateDocument } from "../../src/index.js";
import { makeRoot, makeTempDir, removeTempDirs, stateObject } from "../helpers/roots.js";

const RUNSC = "/usr/bin/runsc";
const hasRunsc = fs.existsSync(RUNSC);
if (!hasRunsc) console.log(`runsc-decoder: ${RUNSC} is not installed; skipping its cases`);

afterAll(() => removeTempDirs());

/** runscLoads writes the document as `id` into a fresh root and reports whether `runsc state` loads it. */
function runscLoads(doc: StateDocument, id: string): { ok: boolean; output: string } {
  const root = makeRoot();
  doc.set("id", id);
  doc.set("sandbox.id", id);
  doc.set("saver", { rootDir: root, id: { sandboxId: id, containerId: id } });
  fs.writeFileSync(path.join(root, `${id}_sandbox:${id}.state`), doc.encode(), { mode: 0o640 });
  // runsc's output goes to a file, never a pipe (see the brief on runsc and pipes).
  const out = path.join(makeTempDir("runsc-out"), "out");
  const fd = fs.openSync(out, "w");
  try {
    const r = spawnSync(RUNSC, ["--root", root, "state", id], { stdio: ["ignore", fd, fd], timeout: 30_000 });
    return { ok: r.status === 0, output: fs.readFileSync(out, "utf8") };
  } finally {
    fs.closeSync(fd);
  }
}

function weAccept(doc: StateDocument): boolean {
  const root = doc.getString("saver.rootDir") ?? "";
  try {
    doc.checkWritable(root);
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptStateError);
    return false;
  }
}

/** Each case: a name, the edit, and whether Go loads the result. */
const CASES: [string, (d: StateDocument) => void, boolean][] = [
  ["unchanged", () => {}, true],
  ["createdAt not RFC 3339", (d) => d.set("createdAt", "yesterday"), false],
  ["createdAt with a lower-case z", (d) => d.set("createdAt", "2026-08-12T14:03:27z"), false],
  ["createdAt with an offset", (d) => d.set("createdAt", "2026-08-12T14:03:27.5+05:30"), true],
  ["createdAt null", (d) => d.set("createdAt", null), true],
  ["sandbox.pid 1.5", (d) => d.set("sandbox.pid", 1.5), false],
  ["sandbox.pid a string", (d) => d.set("sandbox.pid", "7"), false],
  ["sandbox.uid int64 max", (d) => d.set("sandbox.uid", 2n ** 63n - 1n), true],
  ["sandbox.pid past int64", (d) => d.set("sandbox.pid", 2n ** 63n), false],
  ["sandbox.PID, matched case-insensitively", (d) => d.set("sandbox.PID", "7"), false],
  ["uid -1", (d) => d.set("spec.process.user.uid", -1), false],
  ["uid uint32 max", (d) => d.set("spec.process.user.uid", 2 ** 32 - 1), true],
  ["uidMappings size past uint32", (d) => d.set(["spec", "linux", "uidMappings", 0, "size"], 2 ** 32), false],
  ["memory limit int64 min", (d) => d.set("spec.linux.resources.memory.limit", -(2n ** 63n)), true],
  [
    "rlimit hard uint64 max",
    (d) => d.set("spec.process.rlimits", [{ type: "RLIMIT_NOFILE", hard: 2n ** 64n - 1n, soft: 1 }]),
    true,
  ],
  ["rlimit soft -1", (d) => d.set("spec.process.rlimits", [{ type: "RLIMIT_NOFILE", hard: 1, soft: -1 }]), false],
  ["an annotation that is a number", (d) => d.set(["spec", "annotations", "x"], 1), false],
  ["annotations null", (d) => d.set("spec.annotations", null), true],
  ["args a string", (d) => d.set("spec.process.args", "sleep"), false],
  ["terminal a string", (d) => d.set("spec.process.terminal", "false"), false],
  ["unknown fields of any type", (d) => d.set("future", { a: [1, "x", null], b: 1.5e300 }), true],
  ["sandbox.cgroup an array", (d) => d.set("sandbox.cgroup", []), false],
  ["cgroup controllers a string", (d) => d.set("sandbox.cgroup.cgroupv2.controllers", "cpu"), false],
  ["goferPid 1e3 written as 1000", (d) => d.set("goferPid", 1e3), true],
];

describe.skipIf(!hasRunsc)("the write check agrees with runsc's own decoder (runsc state)", () => {
  const fixture = stateObject({ containerId: "x" });
  it.each(CASES)("%s", (_what, edit, goLoads) => {
    const doc = StateDocument.from(fixture);
    edit(doc);
    const id = `dec${Math.random().toString(36).slice(2, 8)}`;
    const runsc = runscLoads(doc, id);
    expect({ runsc: runsc.ok, output: runsc.ok ? "" : runsc.output.slice(0, 300) }).toMatchObject({ runsc: goLoads });
    expect(weAccept(doc)).toBe(goLoads);
  });

  it('documented difference: sandbox.startTime "" loads in 20221219 (no such field) but master\'s time.Time rejects it; refused', () => {
    const doc = StateDocument.from(fixture);
    doc.set("sandbox.startTime", "");
    expect(runscLoads(doc, "starttime").ok).toBe(true);
    expect(weAccept(doc)).toBe(false);
  });

  it("documented difference: a PID past 2^53 loads in runsc but not in the tool (fields.pid is a JS number; no Linux PID is that large)", () => {
    const doc = StateDocument.from(fixture);
    doc.set("sandbox.pid", 2n ** 63n - 1n);
    expect(runscLoads(doc, "bigpid").ok).toBe(true);
    expect(weAccept(doc)).toBe(false);
  });
});
