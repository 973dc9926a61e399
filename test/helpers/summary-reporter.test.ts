import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const reporter = path.join(here, "summary-reporter.ts");
const vitestBin = path.join(repo, "node_modules", "vitest", "vitest.mjs");

/** Files of a small project (vitest globals, so they import nothing) and the line each must produce. */
const PROJECTS: Record<string, { files: Record<string, string>; line: string }> = {
  "passing and skipped tests": {
    files: { "ok.test.ts": 'test("a", () => { expect(1).toBe(1); });\ntest.skip("b", () => {});\n' },
    line: "1 passed, 0 failed, 1 skipped",
  },
  "a syntax error": {
    files: { "ok.test.ts": 'test("a", () => {});\n', "bad.test.ts": 'test("x", () => {\n' },
    line: "1 passed, 1 failed, 0 skipped",
  },
  "an import error": {
    files: { "bad.test.ts": 'import "./missing.js";\ntest("x", () => {});\n' },
    line: "0 passed, 1 failed, 0 skipped",
  },
  "a throw at top level": {
    files: { "bad.test.ts": 'throw new Error("top level");\ntest("x", () => {});\n' },
    line: "0 passed, 1 failed, 0 skipped",
  },
  "a failing beforeAll": {
    files: {
      "bad.test.ts":
        'describe("s", () => {\n  beforeAll(() => { throw new Error("hook"); });\n  test("x", () => {});\n  test("y", () => {});\n});\n',
    },
    line: "0 passed, 1 failed, 2 skipped",
  },
  "a failed test beside a failing file": {
    files: { "fail.test.ts": 'test("x", () => { expect(1).toBe(2); });\n', "bad.test.ts": 'import "./missing.js";\n' },
    line: "0 passed, 2 failed, 0 skipped",
  },
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** runProject writes the files into a temporary directory and returns vitest's stdout and exit status. */
function runProject(files: Record<string, string>): { stdout: string; status: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "summary-reporter-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const r = spawnSync(process.execPath, [vitestBin, "run", "--root", dir, "--globals", `--reporter=${reporter}`], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
    timeout: 120_000,
  });
  return { stdout: r.stdout, status: r.status };
}

describe("the summary line counts files that fail to load", () => {
  for (const [name, { files, line }] of Object.entries(PROJECTS)) {
    test(name, () => {
      const { stdout, status } = runProject(files);
      const last = stdout.trim().split("\n").at(-1);
      expect(last).toBe(line);
      expect(status).toBe(line.includes(" 0 failed") ? 0 : 1);
    });
  }
});
