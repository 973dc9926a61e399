/**
 * Every change by anyone reaches every subscriber, once. Four writer
 * processes change 1,000+ containers at the same time: two runsc-index
 * library writers, a plain cp+mv shell writer, and the real runsc (when
 * installed, two sandboxes through create/start/kill/delete). Two watchers
 * (`runsc-index watch --json --since 0` processes) and one
 * `store.events({ since: 0 })` consumer in this process run throughout; each
 * consumer's events are then compared with the changes made.
 *
 * Library writers log their own writes, so their containers' events must
 * match the writes exactly. A plain writer's two writes to one file between
 * two drains are one `updated` (documented coalescing), so for those the
 * statuses seen must be the written ones, in order, ending with the last.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openIndex } from "../../src/index/open-index.js";
import { openStore, type Store } from "../../src/index.js";
import type { StoreEvent } from "../../src/watch/events.js";
import { ensureBuilt, killRunningClis, startCli } from "../cli/cli.js";
import { killSpawned, spawnProcess, spawnTsx } from "../helpers/foreign.js";
import { makeRoot, makeTempDir, removeTempDirs, stateText, writeState } from "../helpers/roots.js";
import { idOf, rounds, type Step, stepsFor } from "./plan.js";

const LIB_COUNT = 350;
const MV_COUNT = 300;
const RUNSC = "/usr/bin/runsc";
const RUNSC_IDS = ["rt-0", "rt-1"];

beforeAll(ensureBuilt);
afterEach(async () => {
  await killRunningClis();
  await killSpawned();
  removeTempDirs();
});

type ContainerEvent = Extract<StoreEvent, { containerId: string }>;

/** mvScript writes a plain shell writer: each write is cp of a prepared file to a temp name, then mv onto the state file. */
function mvScript(root: string, dir: string): string {
  const lines: string[] = [];
  for (const [id, step] of rounds("m", MV_COUNT)) {
    const target = path.join(root, `${id}_sandbox:${id}.state`);
    if (step.kind === "remove") {
      lines.push(`rm -- '${target}'`);
      continue;
    }
    const src = path.join(dir, `${id}.${step.status}`);
    fs.writeFileSync(src, stateText({ containerId: id, status: step.status, rootDir: root }));
    lines.push(`cp -- '${src}' '${root}/.mv-tmp' && mv -- '${root}/.mv-tmp' '${target}'`);
  }
  const script = path.join(dir, "mv-writer.sh");
  fs.writeFileSync(script, `set -e\nwhile [ ! -e "$1" ]; do sleep 0.01; done\n${lines.join("\n")}\necho done\n`);
  return script;
}

/** runscScript: create, start, kill and delete each sandbox with the real runsc (output to files, never a pipe). */
function runscScript(root: string, dir: string): string {
  const bundle = path.join(dir, "bundle");
  fs.mkdirSync(bundle);
  const flags = `--root '${root}' --network=none --platform=ptrace`;
  const body = RUNSC_IDS.map(
    (id) => `runsc ${flags} create -bundle '${bundle}' ${id} </dev/null >>'${dir}/runsc.log' 2>&1
runsc ${flags} start ${id} </dev/null >>'${dir}/runsc.log' 2>&1
runsc ${flags} kill ${id} KILL </dev/null >>'${dir}/runsc.log' 2>&1 || true
sleep 0.3
runsc ${flags} delete --force ${id} </dev/null >>'${dir}/runsc.log' 2>&1`,
  ).join("\n");
  const script = path.join(dir, "runsc-writer.sh");
  fs.writeFileSync(
    script,
    `set -e
cd '${bundle}' && runsc spec -- /bin/sleep 1000 </dev/null >/dev/null 2>&1
sed -i 's/"terminal": true/"terminal": false/; s/"readonly": false/"readonly": true/' config.json
python3 -c 'import json;c=json.load(open("config.json"));c["root"]={"path":"/","readonly":True};c["process"]["terminal"]=False;json.dump(c,open("config.json","w"))'
while [ ! -e "$1" ]; do sleep 0.01; done
${body}
echo done
`,
  );
  return script;
}

function cleanUpRunsc(root: string): void {
  for (const id of RUNSC_IDS) {
    spawn("runsc", ["--root", root, "delete", "--force", id], { stdio: "ignore" });
  }
}

/** expectedSteps: each container's plan by ID. */
function expectedSteps(): Map<string, { steps: Step[]; exact: boolean }> {
  const m = new Map<string, { steps: Step[]; exact: boolean }>();
  for (const prefix of ["a", "b"]) {
    for (let i = 0; i < LIB_COUNT; i++) m.set(idOf(prefix, i), { steps: stepsFor(i), exact: true });
  }
  for (let i = 0; i < MV_COUNT; i++) m.set(idOf("m", i), { steps: stepsFor(i), exact: false });
  return m;
}

/** byContainer groups created/updated/removed/stopped events by container ID, in seq order. */
function byContainer(events: readonly StoreEvent[]): Map<string, ContainerEvent[]> {
  const m = new Map<string, ContainerEvent[]>();
  for (const e of events) {
    if (!("containerId" in e)) continue;
    m.set(e.containerId, [...(m.get(e.containerId) ?? []), e]);
  }
  return m;
}

function statusOf(e: ContainerEvent): string | null | undefined {
  return e.type === "created" || e.type === "updated" ? e.status : undefined;
}

/** checkContainer returns what is wrong with one container's events, or "" when they match its plan. */
function checkContainer(id: string, events: ContainerEvent[], plan: { steps: Step[]; exact: boolean }): string {
  const changes = events.filter((e) => e.type !== "stopped");
  const writes = plan.steps.flatMap((s) => (s.kind === "write" ? [s.status] : []));
  const removed = plan.steps.at(-1)!.kind === "remove";
  const got = changes.map((e) => `${e.type}:${statusOf(e) ?? ""}`);
  if (plan.exact) {
    const want = [
      `created:${writes[0]}`,
      ...writes.slice(1).map((s) => `updated:${s}`),
      ...(removed ? ["removed:"] : []),
    ];
    return JSON.stringify(got) === JSON.stringify(want) ? "" : `${id}: got ${got.join(" ")}, want ${want.join(" ")}`;
  }
  if (changes.length === 0) return removed ? "" : `${id}: no events`; // created and removed between two drains
  if (changes[0]!.type !== "created") return `${id}: first event ${got[0]}`;
  if (removed !== (changes.at(-1)!.type === "removed")) return `${id}: removal mismatch: ${got.join(" ")}`;
  const statuses = changes.filter((e) => e.type !== "removed").map((e) => statusOf(e));
  if (!removed && statuses.at(-1) !== writes.at(-1)) return `${id}: last status ${statuses.at(-1)}`;
  let w = 0;
  for (const s of statuses) {
    while (w < writes.length && writes[w] !== s) w++;
    if (w === writes.length) return `${id}: statuses ${statuses.join(",")} not in write order ${writes.join(",")}`;
    w++;
  }
  for (let i = 1; i < changes.length; i++) {
    const e = changes[i]!;
    if (e.type === "updated" && e.statusBefore !== statusOf(changes[i - 1]!))
      return `${id}: updated from ${e.statusBefore}`;
  }
  return "";
}

/** checkRunsc: created first, removed last, each update starts where the one before ended, and it ran. */
function checkRunsc(id: string, events: ContainerEvent[]): string {
  const changes = events.filter((e) => e.type !== "stopped");
  const got = changes.map((e) => `${e.type}:${statusOf(e) ?? ""}`).join(" ");
  if (changes[0]?.type !== "created" || changes.at(-1)?.type !== "removed") return `${id}: ${got}`;
  if (!changes.some((e) => statusOf(e) === "running")) return `${id}: never running: ${got}`;
  for (let i = 1; i < changes.length; i++) {
    const e = changes[i]!;
    const before = statusOf(changes[i - 1]!);
    if ((e.type === "updated" || e.type === "removed") && e.statusBefore !== before) return `${id}: ${got}`;
  }
  return "";
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("events from four writer processes reach two watchers and a consumer, each once", () => {
  it("nothing missing, nothing invented, order per container kept", async () => {
    const root = makeRoot();
    const dir = makeTempDir("mp");
    const go = path.join(dir, "go");
    const withRunsc = fs.existsSync(RUNSC);
    // Watchers first (their initial pass sees an empty root).
    const watchers = [0, 1].map(() => startCli(["--root", root, "watch", "--json", "--since", "0"]));
    await Promise.all(watchers.map((w) => w.waitFor("stderr", /^watching /m)));
    const store: Store = openStore({ root, inotify: false });
    const abort = new AbortController();
    const consumed: StoreEvent[] = [];
    const consumer = (async () => {
      for await (const e of store.events({ since: 0, watch: false, signal: abort.signal })) consumed.push(e);
    })();

    const writers = [
      spawnTsx(path.join(import.meta.dirname, "workers/lib-writer.ts"), [root, go, "a", String(LIB_COUNT)]),
      spawnTsx(path.join(import.meta.dirname, "workers/lib-writer.ts"), [root, go, "b", String(LIB_COUNT)]),
      spawnProcess("bash", [mvScript(root, dir), go]),
      ...(withRunsc ? [spawnProcess("bash", [runscScript(root, dir), go])] : []),
    ];
    try {
      await Promise.all(writers.slice(0, 2).map((w) => w.line((l) => l === "ready")));
      fs.writeFileSync(go, "");
      const exits = await Promise.all(writers.map((w) => w.exited));
      expect(exits.map((e) => e.code)).toEqual(writers.map(() => 0));
    } finally {
      if (withRunsc) cleanUpRunsc(root);
    }

    // Every container's last change has reached the consumer.
    const plans = expectedSteps();
    const finished = () => {
      const seen = byContainer(consumed);
      for (const [id, plan] of plans) {
        const last = seen
          .get(id)
          ?.filter((e) => e.type !== "stopped")
          .at(-1);
        const final = plan.steps.at(-1)!;
        const done =
          final.kind === "remove"
            ? last?.type === "removed" || (!plan.exact && !last)
            : last && statusOf(last) === final.status;
        if (!done) return false;
      }
      return !withRunsc || RUNSC_IDS.every((id) => seen.get(id)?.at(-1)?.type === "removed");
    };
    await waitFor("the last changes", finished, 60_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing more may come: invented events would show now

    // Stopping one watcher leaves the other registered and working.
    watchers[0]!.child.kill("SIGTERM");
    expect((await watchers[0]!.exited).status).toBe(0);
    const index = openIndex(path.join(root, ".runsc-index", "index.db"));
    const registered = Object.keys(index.meta.all()).filter((k) => k.startsWith("watcher:"));
    index.db.close();
    expect(registered).toEqual([expect.stringMatching(new RegExp(`^watcher:${watchers[1]!.child.pid}:`))]);
    writeState(root, { containerId: "after-stop" });
    await watchers[1]!.waitFor("stdout", /"type":"created".*"containerId":"after-stop"/);
    await waitFor(
      "after-stop in the consumer",
      () => consumed.some((e) => "containerId" in e && e.containerId === "after-stop"),
      10_000,
    );
    watchers[1]!.child.kill("SIGTERM");
    expect((await watchers[1]!.exited).status).toBe(0);
    abort.abort();
    await consumer;
    store.close();

    const outputs = {
      consumer: consumed,
      watcher0: watchers[0]!
        .stdout()
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as StoreEvent),
      watcher1: watchers[1]!
        .stdout()
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as StoreEvent),
    };
    const afterStop = (events: StoreEvent[]) =>
      events.filter((e) => !("containerId" in e) || e.containerId !== "after-stop");
    // All three saw the same log, each event once, in order.
    expect(afterStop(outputs.watcher0)).toEqual(afterStop(outputs.consumer));
    expect(outputs.watcher1).toEqual(outputs.consumer);
    const seqs = outputs.consumer.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const problems: string[] = [];
    const seen = byContainer(outputs.consumer);
    for (const [id, plan] of plans) {
      const p = checkContainer(id, seen.get(id) ?? [], plan);
      if (p) problems.push(p);
    }
    if (withRunsc) for (const id of RUNSC_IDS) problems.push(checkRunsc(id, seen.get(id) ?? []));
    const known = new Set([...plans.keys(), ...RUNSC_IDS, "after-stop"]);
    for (const id of seen.keys()) if (!known.has(id)) problems.push(`${id}: invented`);
    expect(problems.filter(Boolean)).toEqual([]);
    expect(outputs.consumer.filter((e) => e.type === "overflow")).toEqual([]);
    // The test made 1,000 containers change.
    expect(plans.size).toBe(1_000);
  }, 240_000);
});
