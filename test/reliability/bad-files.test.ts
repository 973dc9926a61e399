/**
 * Bad state files: a corpus of everything a root can hold that is not a
 * readable state file (over 2,000 entries with the fixture cut at every
 * structural point, so the full reconcile uses its worker threads). Reconcile
 * must finish, report each one (in its report and in invalid_files), change
 * none of them, and `load` must raise ERR_CORRUPT_STATE naming the file.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStateFileName } from "../../src/ids/file-names.js";
import { CorruptStateError, openStore, type ReconcileReport, type Store } from "../../src/index.js";
import { withTimeout } from "../helpers/foreign.js";
import { FIXTURE_STATE_NAMES, makeRoot, makeTempDir, removeTempDirs } from "../helpers/roots.js";
import { type BadEntry, corpus, ids } from "./corpus.js";
import { snapshotDir } from "./support.js";

/** runsc lists `*_sandbox:*.state`: every such name that is not a good state file must be reported. */
const RUNSC_GLOB = /^.*_sandbox:.*\.state$/s;

/**
 * Entries that show bugs in src/, each pinned by an it.fails test at the end
 * of this file; the other tests leave them out so that they keep checking
 * the rest. When a bug is fixed, drop its names here and turn its it.fails
 * into it. (None open now.)
 */
const KNOWN_BUGS: Record<string, string> = {};
const notKnownBug = (name: string) => KNOWN_BUGS[name] === undefined;

let root: string;
let store: Store;
let entries: BadEntry[];
let reported: string[];
let before: Record<string, string>;
let full: ReconcileReport;
let invalidRowsAfterFull: string[];

const sortedNames = (list: readonly Readonly<Record<string, unknown>>[]) => list.map((f) => String(f.name)).sort();

beforeAll(async () => {
  root = makeRoot({ fixtures: true });
  const elsewhere = makeTempDir("elsewhere");
  entries = corpus(elsewhere);
  for (const e of entries) {
    const file = path.join(root, e.name);
    if (e.make) e.make(file);
    else fs.writeFileSync(file, e.content ?? "", { mode: 0o640 });
    // runsc keeps a lock file beside every state file; loads must not need to add one.
    const ids = parseStateFileName(e.name);
    if (ids) fs.writeFileSync(path.join(root, `${ids.containerId}_sandbox:${ids.sandboxId}.lock`), "", { mode: 0o600 });
  }
  reported = entries.map((e) => e.name).filter((n) => RUNSC_GLOB.test(n));
  before = snapshotDir(root);
  store = openStore({ root, index: path.join(makeTempDir("index"), "index.db") });
  full = await withTimeout(store.reconcile({ full: true }), 30_000, "a full reconcile of the bad corpus");
  invalidRowsAfterFull = sortedNames((await store.query("SELECT name FROM invalid_files", [], { fresh: false })).rows);
}, 120_000);

afterAll(() => {
  store?.close();
  removeTempDirs();
});

describe("bad state files: reconcile", () => {
  it("the corpus has over 2,000 bad entries (a full pass reads them in worker threads) of over 30 kinds", () => {
    expect(entries.length).toBeGreaterThan(2_000);
    expect(entries.filter((e) => !e.name.startsWith("cut")).length).toBeGreaterThan(30);
  });

  it("a full reconcile reports exactly the bad files runsc's glob lists, each with a reason", () => {
    const expected = reported.filter(notKnownBug).sort();
    expect(sortedNames(full.invalidFiles).filter(notKnownBug)).toEqual(expected);
    for (const f of full.invalidFiles) expect(f.reason.length).toBeGreaterThan(0);
    expect(full.scanned).toBe(2 + entries.filter((e) => parseStateFileName(e.name)).length);
  });

  it("each reason says what is wrong", () => {
    const reasons = new Map(full.invalidFiles.map((f) => [f.name, f.reason]));
    for (const e of entries.filter((x) => x.reason)) {
      expect({ name: e.name, reason: reasons.get(e.name) }).toEqual({
        name: e.name,
        reason: expect.stringMatching(e.reason!),
      });
    }
  });

  it("invalid_files holds every reported file", () => {
    expect(invalidRowsAfterFull).toEqual(sortedNames(full.invalidFiles));
  });

  it("no bad file is listed, and the two good ones are", async () => {
    const listed = await store.list({ skipCheck: true, fresh: false });
    const names = listed.map((c) => `${c.containerId}_sandbox:${c.sandboxId}.state`).filter(notKnownBug);
    expect(names.sort()).toEqual([...FIXTURE_STATE_NAMES].sort());
  });

  it("names outside runsc's glob are neither reported nor indexed", async () => {
    const rows = (await store.query("SELECT container_id, sandbox_id FROM containers", [], { fresh: false })).rows;
    const indexed = new Set(rows.map((r) => `${r.container_id}_sandbox:${r.sandbox_id}.state`));
    for (const e of entries.filter((x) => !parseStateFileName(x.name))) expect(indexed.has(e.name)).toBe(false);
  });

  it("no file, link, directory or FIFO changed, and nothing was added or removed", () => {
    expect(snapshotDir(root)).toEqual(before);
  });
});

/** loadProblem loads the container a bad file names; undefined when that raised ERR_CORRUPT_STATE naming the file. */
async function loadProblem(name: string): Promise<unknown> {
  const ids = parseStateFileName(name)!;
  try {
    const c = await store.load(ids.containerId, { exact: true, sandbox: ids.sandboxId, skipCheck: true });
    return { name, loaded: `${c.fields.containerId} (sandbox ${c.fields.sandboxId})` };
  } catch (err) {
    const named = err instanceof CorruptStateError && err.file === name && err.message.includes(name);
    return err instanceof CorruptStateError && err.code === "ERR_CORRUPT_STATE" && named
      ? undefined
      : { name, error: String(err) };
  }
}

describe("bad state files: load", () => {
  it("load of every bad file whose name parses raises ERR_CORRUPT_STATE naming the file", async () => {
    const problems: unknown[] = [];
    for (const e of entries.filter((x) => parseStateFileName(x.name) && notKnownBug(x.name))) {
      const problem = await loadProblem(e.name);
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([]);
    expect(snapshotDir(root)).toEqual(before);
  });
});

describe("bad state files: known bugs in src/", () => {
  it("a state file starting with a UTF-8 BOM is invalid, as runsc's json.Unmarshal finds it", async () => {
    expect(sortedNames(full.invalidFiles)).toContain(ids("bom"));
    expect(await loadProblem(ids("bom"))).toBeUndefined();
  });

  it("load of a file whose IDs inside differ from its name raises ERR_CORRUPT_STATE and indexes nothing", async () => {
    const problems = [];
    for (const name of [ids("idmismatch"), ids("sandboxmismatch", "sb1")]) problems.push(await loadProblem(name));
    expect(problems).toEqual([undefined, undefined]);
    const rows = (await store.query("SELECT container_id FROM containers", [], { fresh: false })).rows;
    expect(rows.map((r) => r.container_id)).not.toContain("someoneelse");
  });
});

// Runs last: it rewrites invalid_files, which the tests above read as the full pass left it.
describe("bad state files: an incremental pass after the full one", () => {
  it("still reports every unchanged bad file, in its report and in invalid_files, and changes none", async () => {
    const incremental = await store.reconcile();
    const rows = (await store.query("SELECT name FROM invalid_files", [], { fresh: false })).rows;
    expect({ report: sortedNames(incremental.invalidFiles), table: sortedNames(rows) }).toEqual({
      report: sortedNames(full.invalidFiles),
      table: sortedNames(full.invalidFiles),
    });
    expect(snapshotDir(root)).toEqual(before);
  });
});
