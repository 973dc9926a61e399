import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { listWithStats, nameOf } from "../../src/native/dir-stats.js";
import { makeTempDir, removeTempDirs } from "../helpers/roots.js";

afterEach(() => removeTempDirs());

/** Each entry's name with lstat's size, mtimeMs, ctimeMs and ino: the reference. */
function lstatOf(dir: string, name: string): number[] {
  const st = fs.lstatSync(path.join(dir, name));
  return [st.size, st.mtimeMs, st.ctimeMs, st.ino];
}

function listed(dir: string, suffix: string): Map<string, number[]> {
  const d = listWithStats(dir, suffix);
  const out = new Map<string, number[]>();
  for (let i = 0; i < d.count; i++) out.set(nameOf(d, i), Array.from(d.stats.subarray(i * 4, i * 4 + 4)));
  return out;
}

describe("listWithStats agrees with readdir and lstat", () => {
  test("over many getdents64 buffers: only names with the suffix, each with lstat's exact numbers", () => {
    const dir = makeTempDir("dir-stats");
    // ~6,000 entries of up to ~230 bytes: several 256 KiB buffers; odd mtimes with nanoseconds.
    for (let i = 0; i < 3000; i++) {
      const id = i
        .toString(16)
        .padStart(4, "0")
        .repeat(1 + (i % 16));
      fs.writeFileSync(path.join(dir, `${id}.state`), "x".repeat(i % 50));
      fs.writeFileSync(path.join(dir, `${id}.lock`), "");
      if (i % 7 === 0) fs.utimesSync(path.join(dir, `${id}.state`), 1.5e9 + i / 1000, 1.7e9 + i / 997);
    }
    for (const odd of ["é-état.state", "0a😀.state", ".state", "dir.state", "x.statex"]) {
      if (odd === "dir.state") fs.mkdirSync(path.join(dir, odd));
      else fs.writeFileSync(path.join(dir, odd), odd);
    }
    fs.symlinkSync("/nonexistent", path.join(dir, "link.state"));
    const want = fs.readdirSync(dir).filter((n) => n.endsWith(".state"));
    const got = listed(dir, ".state");
    expect([...got.keys()].sort()).toEqual(want.sort());
    for (const name of want) expect(got.get(name), name).toEqual(lstatOf(dir, name));
  });

  test("a missing directory or a file throws with the errno's code", () => {
    const dir = makeTempDir("dir-stats");
    fs.writeFileSync(path.join(dir, "file"), "");
    expect(() => listWithStats(path.join(dir, "missing"), ".state")).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    expect(() => listWithStats(path.join(dir, "file"), ".state")).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });

  test("an empty directory lists nothing", () => {
    const d = listWithStats(makeTempDir("dir-stats"), ".state");
    expect([d.count, d.stats.length, d.nameStart.length]).toEqual([0, 0, 1]);
  });
});
