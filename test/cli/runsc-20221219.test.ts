/**
 * Our CLI over state files the real runsc 20221219 wrote (created, running,
 * paused, a pod with a sub-container), with their sandboxes dead, against
 * what that runsc printed for the same files: byte for byte, in the
 * 20221219 format (ociVersion 1.0.2-dev, state without a final newline).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";
import { ensureBuilt, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

const FIXTURES = fileURLToPath(new URL("../fixtures/runsc-20221219/", import.meta.url));
const OUTPUT = path.join(FIXTURES, "cli-output", "sandbox-dead");
const IDS = ["created", "running", "paused", "pod-app"];
const FORMAT = { RUNSC_INDEX_RUNSC_FORMAT: "20221219" };

/** A root holding copies of the recorded state files. */
function fixtureRoot(): string {
  const root = makeTempDir("runsc-20221219");
  for (const name of fs.readdirSync(FIXTURES).filter((n) => n.endsWith(".state"))) {
    fs.copyFileSync(path.join(FIXTURES, name), path.join(root, name));
  }
  return root;
}

function recorded(name: string): string {
  return fs.readFileSync(path.join(OUTPUT, name), "utf8");
}

function ours(root: string, ...args: string[]): string {
  const r = runCli(["--root", root, ...args], { env: FORMAT });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The recorded sandbox PIDs must not be live here, or runsc itself would answer differently. */
function recordedPidsAreFree(): boolean {
  const pids = fs
    .readdirSync(FIXTURES)
    .filter((n) => n.endsWith(".state"))
    .map((n) => JSON.parse(fs.readFileSync(path.join(FIXTURES, n), "utf8")).sandbox.pid as number);
  return pids.every((pid) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

describe.skipIf(!recordedPidsAreFree())("our CLI over runsc 20221219's own state files, sandboxes dead", () => {
  it("list, list --format=json and list --quiet are byte-identical to runsc's", () => {
    const root = fixtureRoot();
    expect(ours(root, "list")).toBe(recorded("runsc-list.txt"));
    expect(ours(root, "list", "--format", "json")).toBe(recorded("runsc-list-format-json.json"));
    expect(ours(root, "list", "--quiet")).toBe(recorded("runsc-list-quiet.txt"));
    expect(ours(root, "list", "-q")).toBe(recorded("runsc-list-quiet.txt"));
  });

  it("state of each container is byte-identical to runsc's (no final newline)", () => {
    const root = fixtureRoot();
    for (const id of IDS) expect(ours(root, "state", id), id).toBe(recorded(`runsc-state-${id}.json`));
    expect(recorded("runsc-state-running.json").endsWith("}")).toBe(true);
  });

  it('state "pod": runsc fails (exit 128, ambiguous with pod-app); we print pod\'s state, the documented difference', () => {
    const root = fixtureRoot();
    expect(recorded("runsc-state-pod.status").trim()).toBe("128");
    expect(recorded("runsc-state-pod.stderr")).toContain('id "pod" is ambiguous');
    const text = ours(root, "state", "pod");
    expect(JSON.parse(text)).toMatchObject({ ociVersion: "1.0.2-dev", id: "pod", status: "stopped", pid: -1 });
    // The same bytes runsc prints for a root container: compare with running's, IDs swapped.
    const running = recorded("runsc-state-running.json");
    expect(text).toBe(running.replaceAll('"running"', '"pod"').replace("b-running", "b-pod"));
  });

  it("the current format, asked for, differs only in ociVersion and state's final newline", () => {
    const root = fixtureRoot();
    const r = runCli(["--root", root, "--runsc-format", "current", "state", "running"], { env: FORMAT });
    expect(r.stdout).toBe(`${recorded("runsc-state-running.json").replace("1.0.2-dev", "1.2.1")}\n`);
  });
});
