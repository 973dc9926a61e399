/**
 * The fast paths give the full paths' answers on the reliability corpus
 * (corpus.ts) plus good files and the number spellings where V8's JSON.parse
 * and Go differ:
 * - indexFields (reconcile's reader: JSON.parse, then only the index's
 *   fields, read directly when the keys are exact) gives the same verdict
 *   as load's lossless decoder on every file, and the same fields when valid;
 * - the native scanner (docs/state-scan.md) answers only for files load
 *   accepts, with load's fields and stat;
 * - the index (filled by a full reconcile) lists exactly the files load
 *   accepts, with load's fields;
 * - the plain `state ID` command line (no commander) prints what the
 *   commander path prints, errors included.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStateFileName } from "../../src/ids/file-names.js";
import { CorruptStateError, openStore, type Store } from "../../src/index.js";
import { StateDocument } from "../../src/state/document.js";
import { indexFields } from "../../src/state/index-fields.js";
import { readStateFile } from "../../src/state/state-files.js";
import { scanStateFile } from "../../src/state/state-scan.js";
import { CLI, ensureBuilt, runCli } from "../cli/cli.js";
import { FIXTURE_STATE_NAMES, makeRoot, makeTempDir, removeTempDirs, stateText } from "../helpers/roots.js";
import { type BadEntry, corpus, ids } from "./corpus.js";

/** Valid JSON that JSON.parse reads as an integer where Go's json.Unmarshal (and load) refuses an int field. */
function numberSpellings(): BadEntry[] {
  const good = (id: string) => stateText({ containerId: id });
  const spell = (id: string, from: RegExp, to: string): BadEntry => ({
    name: ids(id),
    content: good(id).replace(from, to),
  });
  return [
    spell("pidfraction", /"pid":(\d+)/, '"pid":$1.0'),
    spell("pidexponent", /"pid":(\d+)/, '"pid":$1e0'),
    spell("pidminuszero", /"pid":(\d+)/, '"pid":-0'),
    spell("pidescapedkey", /"pid":(\d+)/, '"p\\u0069d":$1.0'),
    spell("goferfraction", /"goferPid":(\d+)/, '"goferPid":$1.0'),
    spell("goferspaced", /"goferPid":(\d+)/, '"goferPid" :\t$1.00'),
    // Go folds U+0131 (dotless i) onto "I": this key is `pid` too.
    spell("piddotless", /"pid":(\d+)/, '"p\u0131D":$1.0'),
    spell("goferupper", /"goferPid":(\d+)/, '"GOFERPID":$1E1'),
    // Valid for both: an annotation escaped as Go escapes "&", and a "pid" elsewhere with a fraction.
    {
      name: ids("goodescapes"),
      content: stateText({
        containerId: "goodescapes",
        edit: (d) => Object.assign(d.spec, { annotations: { url: "a&b<c>" } }),
      }).replace("a&b<c>", "a\\u0026b\\u003cc\\u003e"),
    },
    { name: ids("otherpid"), content: good("otherpid").replace(/^\{/, '{"x":{"pid":1.5},') },
    { name: ids("good"), content: good("good") },
  ];
}

/**
 * Files where indexFields' direct read of JSON.parse's value (exact keys,
 * readFields' types) must step aside for the projection or for load: keys
 * Go folds onto a field, a legacy integer status spelled as a float, fields
 * of other types, and the spellings it still reads itself.
 */
function directPathEdges(): BadEntry[] {
  const good = (id: string) => stateText({ containerId: id });
  const edit = (id: string, from: RegExp | string, to: string): BadEntry => ({
    name: ids(id),
    content: good(id).replace(from, to),
  });
  return [
    edit("statusfloat", /"status":"[a-z]+"/, '"status":3.0'),
    edit("statuslegacy", /"status":"[a-z]+"/, '"status":3'),
    edit("statusexponent", /"status":"[a-z]+"/, '"status":0e0'),
    edit("statusnull", /"status":"[a-z]+"/, '"status":null'),
    edit("idtwice", /^\{/, '{"ID":"someone-else",'),
    edit("idupperlast", /\}$/, ',"Id":"someone-else"}'),
    edit("sandboxupper", '"sandbox":', '"SANDBOX":'),
    edit("sandboxnull", /"sandbox":\{/, '"sandbox":null,"x":{'),
    edit("podupper", '"podName":', '"PODNAME":'),
    edit("specnull", /"spec":\{/, '"spec":null,"x":{'),
    edit("specarray", /"spec":\{/, '"spec":[],"x":{'),
    edit("annotationsnull", /"annotations":\{/, '"annotations":null,"x":{'),
    edit("annotationnumber", /"annotations":\{/, '"annotations":{"n":1,'),
    edit("annotationupperkey", /"annotations":\{/, '"Annotations":{"a":"b"},"annotations":{'),
    edit("ownernumber", /"owner":"[^"]*"/, '"owner":7'),
    edit("ownernull", /"owner":"[^"]*"/, '"owner":null'),
    edit("gofernull", /"goferPid":\d+/, '"goferPid":null'),
    edit("goferbig", /"goferPid":\d+/, '"goferPid":123456789012345678901'),
    edit("goferstring", /"goferPid":\d+/, '"goferPid":"12"'),
    edit("goferexponentelsewhere", /^\{/, '{"x":{"goferPid":1e3},'),
    edit("pidspacedfloat", /"pid":(\d+)/, '"pid" :\n$1.5'),
    edit("protokey", /"annotations":\{/, '"annotations":{"__proto__":"p",'),
  ];
}

type Verdict = { valid: true; fields: unknown } | { valid: false };

function verdictOf(read: () => unknown): Verdict {
  try {
    return { valid: true, fields: read() };
  } catch (e) {
    if (e instanceof CorruptStateError) return { valid: false };
    throw e;
  }
}

let root: string;
let entries: BadEntry[];
let store: Store;

beforeAll(async () => {
  ensureBuilt();
  root = makeRoot({ fixtures: true });
  entries = [...corpus(makeTempDir("elsewhere")), ...numberSpellings(), ...directPathEdges()];
  for (const e of entries) {
    const file = path.join(root, e.name);
    if (e.make) e.make(file);
    else fs.writeFileSync(file, e.content ?? "", { mode: 0o640 });
  }
  store = openStore({ root, index: path.join(makeTempDir("index"), "index.db") });
  await store.reconcile({ full: true });
}, 120_000);

afterAll(() => {
  store?.close();
  removeTempDirs();
});

/** The corpus's regular files whose names parse, and the fixtures: what both readers are given. */
function readableFiles(): string[] {
  const names = [...FIXTURE_STATE_NAMES, ...entries.map((e) => e.name)].filter((n) => parseStateFileName(n));
  return names.filter((n) => fs.lstatSync(path.join(root, n)).isFile());
}

describe("fast paths against full ones, on the reliability corpus", () => {
  it("indexFields gives load's verdict on every file, and load's fields when valid", () => {
    const disagreements: unknown[] = [];
    let valid = 0;
    for (const name of readableFiles()) {
      const text = verdictOf(() => readStateFile(path.join(root, name))?.text);
      if (!text.valid || typeof text.fields !== "string") continue; // too large or not UTF-8: both stop before parsing
      const fast = verdictOf(() => indexFields(text.fields as string, name));
      const full = verdictOf(() => StateDocument.parse(text.fields as string, name).fields);
      if (fast.valid) valid++;
      if (JSON.stringify(fast) !== JSON.stringify(full)) disagreements.push({ name, fast, full });
    }
    expect(disagreements).toEqual([]);
    expect(valid).toBeGreaterThanOrEqual(FIXTURE_STATE_NAMES.length + 3);
  });

  it("the native scanner answers only for files load accepts, with load's fields and stat", () => {
    const disagreements: unknown[] = [];
    let answered = 0;
    for (const name of readableFiles()) {
      const file = path.join(root, name);
      const scanned = scanStateFile(file);
      if (scanned === undefined) continue;
      answered++;
      const full = verdictOf(() => {
        const read = readStateFile(file)!;
        return { fields: StateDocument.parse(read.text, name).fields, info: read.info };
      });
      if (JSON.stringify({ valid: true, fields: scanned }) !== JSON.stringify(full)) {
        disagreements.push({ name, scanned, full });
      }
    }
    expect(disagreements).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(FIXTURE_STATE_NAMES.length + 3);
  });

  it("the index lists exactly the files load accepts, with load's fields", async () => {
    const listed = new Map(
      (await store.list({ skipCheck: true, fresh: false })).map((c) => [
        `${c.containerId}_sandbox:${c.sandboxId}.state`,
        c,
      ]),
    );
    const loaded = new Map<string, unknown>();
    for (const name of readableFiles()) {
      const { containerId, sandboxId } = parseStateFileName(name)!;
      try {
        const c = await store.load(containerId, { exact: true, sandbox: sandboxId, skipCheck: true });
        loaded.set(name, c.fields);
      } catch (e) {
        if (!(e instanceof CorruptStateError)) throw e;
      }
    }
    expect([...listed.keys()].sort()).toEqual([...loaded.keys()].sort());
    for (const [name, f] of loaded as Map<string, Record<string, unknown>>) {
      const c = listed.get(name)!;
      const fromIndex = [c.storedStatus, c.goferPid, c.bundleDir, c.createdAt, c.owner, c.podName, c.podNamespace];
      const fromLoad = [f.storedStatus, f.goferPid, f.bundleDir, f.createdAt, f.owner, f.podName, f.podNamespace];
      expect({ name, fields: fromIndex }).toEqual({ name, fields: fromLoad });
    }
  });

  it("the plain `state ID` prints what the commander path prints, for good and bad files", () => {
    const picks = [...FIXTURE_STATE_NAMES, ids("good"), ids("pidfraction"), ids("empty"), ids("nosuch")];
    for (const name of picks) {
      const { containerId } = parseStateFileName(name)!;
      const plain = runCli(["--root", root, "state", containerId]);
      // --lock-timeout is not a plain option: this line goes through commander.
      const full = runCli(["--root", root, "--lock-timeout", "60000", "state", containerId]);
      expect({ name, ...plain }).toEqual({ name, ...full });
    }
    expect(fs.existsSync(CLI)).toBe(true);
  });
});
