import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { inByteOrder, namesEndingWith, namesStartingWith } from "../../src/native/dir-names.js";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";

afterEach(() => removeTempDirs());

/** What readdir gives, filtered the slow way: the reference. */
function expected(dir: string, start: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(start))
    .sort();
}

/** manyEntries: ~9,000 entries of up to ~230 bytes (several 256 KiB buffers): state and lock files, directories. */
function manyEntries(): string {
  const dir = makeTempDir("dir-names");
  for (let i = 0; i < 3000; i++) {
    const id = i
      .toString(16)
      .padStart(4, "0")
      .repeat(1 + (i % 16));
    fs.writeFileSync(path.join(dir, `${id}_sandbox:${id}.state`), "");
    fs.writeFileSync(path.join(dir, `${id}_sandbox:${id}.lock`), "");
    if (i % 3 === 0) fs.mkdirSync(path.join(dir, `${id}.d`));
  }
  return dir;
}

describe("namesStartingWith agrees with readdir", () => {
  test("over many getdents64 buffers, with names of every length, non-ASCII names and directories", () => {
    const dir = manyEntries();
    for (const odd of ["é-état", "0a😀", "0", ".hidden", "0a\nline"]) fs.writeFileSync(path.join(dir, odd), "");
    for (const start of ["0", "0a", "0a1", "0a1a0a1a", "é", "0a😀", ".", "zz", "0a\n", "0fff0fff"]) {
      expect(namesStartingWith(dir, start).sort(), JSON.stringify(start)).toEqual(expected(dir, start));
    }
  });

  test("'.' and '..' are never returned; an empty start lists every entry", () => {
    const dir = makeTempDir("dir-names");
    fs.writeFileSync(path.join(dir, "a"), "");
    fs.writeFileSync(path.join(dir, ".b"), "");
    expect(namesStartingWith(dir, ".").sort()).toEqual([".b"]);
    expect(namesStartingWith(dir, "").sort()).toEqual([".b", "a"]);
  });

  test("a missing directory or a file throws with the errno's code", () => {
    const dir = makeTempDir("dir-names");
    fs.writeFileSync(path.join(dir, "file"), "");
    expect(() => namesStartingWith(path.join(dir, "missing"), "a")).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    expect(() => namesStartingWith(path.join(dir, "file"), "a")).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });
});

describe("namesEndingWith and inByteOrder give readdir's state files in readdir's order", () => {
  test("over many buffers, with lock files, directories named .state, non-ASCII and short names", () => {
    const dir = manyEntries();
    fs.mkdirSync(path.join(dir, "d.state"));
    // UTF-16 order puts U+FF21 after U+1F600's surrogates; UTF-8 bytes put it before: strcmp's order wins.
    for (const odd of ["é.state", "\uff21.state", "😀.state", ".state", "state", "x.stat", "x.state.lock"]) {
      fs.writeFileSync(path.join(dir, odd), "");
    }
    const readdir = fs.readdirSync(dir).filter((n) => n.endsWith(".state"));
    expect(inByteOrder(namesEndingWith(dir, ".state"))).toEqual(readdir);
    expect(inByteOrder(namesEndingWith(dir, ".lock"))).toEqual(fs.readdirSync(dir).filter((n) => n.endsWith(".lock")));
  });

  test("ASCII names sort as JavaScript sorts them", () => {
    expect(inByteOrder(["b", "B", "a_", "a:", "a"])).toEqual(["B", "a", "a:", "a_", "b"]);
  });
});
