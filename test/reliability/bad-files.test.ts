/**
 * Bad state files: a corpus of everything a root can hold that is not a
 * readable state file (over 2,000 entries with the fixture cut at every
 * structural point, so the full reconcile uses its worker threads). Reconcile
 * must finish, report each one (in its report and in invalid_files), change
 * none of them, and `load` must raise ERR_CORRUPT_STATE naming the file.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStateFileName } from "../../src/ids/file-names.js";
import { CorruptStateError, openStore, type ReconcileReport, type Store } from "../../src/index.js";
import { MAX_STATE_BYTES } from "../../src/state/document.js";
import { withTimeout } from "../helpers/foreign.js";
import {
  FIXTURE_STATE_NAMES,
  type JsonDoc,
  makeRoot,
  makeTempDir,
  readFixture,
  removeTempDirs,
  stateText,
  writeState,
} from "../helpers/roots.js";
import { garbage, snapshotDir } from "./support.js";

/** runsc lists `*_sandbox:*.state`: every such name that is not a good state file must be reported. */
const RUNSC_GLOB = /^.*_sandbox:.*\.state$/s;

interface BadEntry {
  readonly name: string;
  /** Creates the entry in root (default: write `content`). */
  readonly make?: (file: string) => void;
  readonly content?: string | Buffer;
  /** A word the reported reason must contain. */
  readonly reason?: RegExp;
}

const ids = (cid: string, sid = cid) => `${cid}_sandbox:${sid}.state`;
/** A good document for its own name, edited; the reason must name the field. */
const edited = (id: string, reason: RegExp, edit: (d: JsonDoc) => void): BadEntry => ({
  name: ids(id),
  content: stateText({ containerId: id, edit }),
  reason,
});

function corpus(elsewhere: string): BadEntry[] {
  const good = (id: string) => stateText({ containerId: id });
  const entries: BadEntry[] = [
    { name: ids("empty"), content: "", reason: /empty/ },
    { name: ids("blank"), content: " \n\t", reason: /JSON/ },
    { name: ids("array"), content: "[]", reason: /not an object/ },
    { name: ids("string"), content: '"runsc"' },
    { name: ids("number"), content: "42" },
    { name: ids("null"), content: "null" },
    { name: ids("true"), content: "true" },
    { name: ids("emptyobj"), content: "{}" },
    edited("status7", /status/, (d) => {
      d.status = 7;
    }),
    edited("statusneg", /status/, (d) => {
      d.status = -1;
    }),
    edited("statusbogus", /status/, (d) => {
      d.status = "bogus";
    }),
    edited("statustrue", /status/, (d) => {
      d.status = true;
    }),
    edited("sandboxnull", /sandbox/, (d) => {
      d.sandbox = null;
    }),
    edited("sandboxmissing", /sandbox/, (d) => {
      delete d.sandbox;
    }),
    edited("sandboxstring", /sandbox/, (d) => {
      d.sandbox = "sandbox";
    }),
    edited("pidstring", /sandbox\.pid/, (d) => {
      d.sandbox.pid = "12";
    }),
    edited("pidfloat", /sandbox\.pid/, (d) => {
      d.sandbox.pid = 1.5;
    }),
    edited("goferstring", /goferPid/, (d) => {
      d.goferPid = "7";
    }),
    edited("creatednumber", /createdAt/, (d) => {
      d.createdAt = 1723471411;
    }),
    edited("idnumber", /"id"/, (d) => {
      d.id = 5;
    }),
    edited("annotationnumber", /annotations/, (d) => {
      d.spec.annotations = { "a.b": 1 };
    }),
    edited("annotationsarray", /annotations/, (d) => {
      d.spec.annotations = ["x"];
    }),
    { name: ids("idmismatch"), content: good("someoneelse"), reason: /match/ },
    { name: ids("sandboxmismatch", "sb1"), content: stateText({ containerId: "sandboxmismatch", sandboxId: "sb2" }) },
    {
      name: ids("huge"),
      make: (f) => {
        fs.writeFileSync(f, "");
        fs.truncateSync(f, MAX_STATE_BYTES + 1);
      },
      reason: /limit/,
    },
    {
      name: ids("hugejson"),
      content: stateText({
        containerId: "hugejson",
        edit: (d) => {
          d.pad = "x".repeat(MAX_STATE_BYTES);
        },
      }),
      reason: /limit/,
    },
    { name: ids("garbage"), content: garbage(7000, 42) },
    {
      name: ids("badutf8"),
      // Invalid UTF-8 outside a string (after `{"id":"badutf8"`). Inside a string
      // it is read as U+FFFD, as Go reads it (issue 9), and the file is good.
      content: Buffer.concat([
        Buffer.from(good("badutf8").slice(0, 15)),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(good("badutf8").slice(15)),
      ]),
      reason: /JSON/,
    },
    { name: ids("bom"), content: `\ufeff${good("bom")}` },
    { name: ids("trailing"), content: `${good("trailing")}x`, reason: /JSON/ },
    { name: ids("twice"), content: good("twice") + good("twice"), reason: /JSON/ },
    { name: ids("nul"), content: `${good("nul")}\0` },
    { name: ids("deep"), content: "[".repeat(100_000) },
    { name: ids("dir"), make: (f) => fs.mkdirSync(f), reason: /regular file/ },
    {
      name: ids("symlink"),
      // The target is a perfectly good state file for this very name: only the link is wrong.
      make: (f) => fs.symlinkSync(writeState(elsewhere, { containerId: "symlink" }), f),
      reason: /symbolic link/,
    },
    { name: ids("fifo"), make: (f) => expect(spawnSync("mkfifo", [f]).status).toBe(0), reason: /regular file/ },
    // Names that nearly parse, each holding a good document.
    { name: "a_sandbox:.state", content: good("a") },
    { name: "_sandbox:b.state", content: good("b") },
    { name: "a_sandbox:b:c.state", content: good("a") },
    { name: "a b_sandbox:c.state", content: good("a") },
    { name: ".._sandbox:x.state", content: good("x") },
    { name: "x\n_sandbox:y.state", content: good("x") },
    { name: "é_sandbox:é.state", content: good("x") },
    // Not state files at all for runsc's glob: ignored, never reported or indexed.
    { name: "a_sandbox:b.state.bak", content: good("a") },
    { name: "a_sandbox:b.STATE", content: good("a") },
    { name: "a_sandox:b.state", content: good("a") },
    { name: "a_sandbox:b.state ", content: good("a") },
    { name: "legacy.state", content: good("legacy") },
  ];
  // Both fixtures cut after every structural character: over 2,000 files, so the full pass reads in workers.
  for (const [f, name] of FIXTURE_STATE_NAMES.entries()) {
    const text = readFixture(name).toString("utf8");
    for (let i = 0; i < text.length; i++) {
      if ('{[:,"'.includes(text[i]!)) entries.push({ name: ids(`cut${f}-${i + 1}`), content: text.slice(0, i + 1) });
    }
  }
  return entries;
}

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
