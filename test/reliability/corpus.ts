/**
 * The bad-file corpus of the reliability tests: everything a root can hold
 * that is not a readable state file, over 2,000 entries with the fixture cut
 * at every structural point. bad-files.test.ts checks reconcile and load on
 * it; fast-paths.test.ts checks that the fast paths give load's verdicts.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { expect } from "vitest";
import { MAX_STATE_BYTES } from "../../src/state/document.js";
import { FIXTURE_STATE_NAMES, type JsonDoc, readFixture, stateText, writeState } from "../helpers/roots.js";
import { garbage } from "./support.js";

export interface BadEntry {
  readonly name: string;
  /** Creates the entry in root (default: write `content`). */
  readonly make?: (file: string) => void;
  readonly content?: string | Buffer;
  /** A word the reported reason must contain. */
  readonly reason?: RegExp;
}

export const ids = (cid: string, sid = cid) => `${cid}_sandbox:${sid}.state`;
/** A good document for its own name, edited; the reason must name the field. */
const edited = (id: string, reason: RegExp, edit: (d: JsonDoc) => void): BadEntry => ({
  name: ids(id),
  content: stateText({ containerId: id, edit }),
  reason,
});

export function corpus(elsewhere: string): BadEntry[] {
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
