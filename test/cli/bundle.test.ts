/**
 * The built command line as scripts/bundle-cli.mjs leaves it: V8 takes the
 * code cache made at build time (a rejected cache would still run, only
 * slower, so nothing else would notice), the plain find/state, which
 * write with write(2), still deliver every byte to a descriptor that would
 * block, and a plain list prints what the same list parsed by commander does.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_ROOT_ID, makeRoot, makeTempDir, removeTempDirs } from "../helpers/roots.js";
import { CLI, cliEnv, ensureBuilt, runCli } from "./cli.js";

beforeAll(ensureBuilt);
afterEach(removeTempDirs);

describe("the bundled CLI", () => {
  it("compiles from the code cache the build made", () => {
    // A child with Node's default flags, as the CLI runs (V8 rejects a cache made under other flags).
    const check = `
      const fs = require("node:fs"), vm = require("node:vm");
      const loader = fs.readFileSync(process.argv[1], "utf8");
      const m = /const source = ("[^\\n]*") \\+ readFileSync\\(file, "latin1"\\) \\+ ("[^\\n]*");/.exec(loader);
      if (!m) throw new Error("no source line in the loader");
      const file = require("node:path").join(require("node:path").dirname(process.argv[1]), "main-bundle.cjs");
      const script = new vm.Script(JSON.parse(m[1]) + fs.readFileSync(file, "latin1") + JSON.parse(m[2]), {
        filename: file, cachedData: fs.readFileSync(file + ".cache"),
      });
      process.stdout.write(String(script.cachedDataRejected));`;
    const r = spawnSync(process.execPath, ["-e", check, CLI], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("false");
  });

  it("a plain state delivers all of its output through a full non-blocking pipe", async () => {
    const root = makeRoot({ fixtures: true });
    const expected = runCli(["--root", root, "state", FIXTURE_ROOT_ID]);
    expect(expected.status).toBe(0);
    expect(expected.stdout.length).toBeGreaterThan(100);

    // A FIFO filled through a non-blocking end: the CLI's first write(2) meets EAGAIN.
    const fifo = path.join(makeTempDir(), "out");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    const filler = Buffer.alloc(4096, "f");
    let filled = 0;
    try {
      for (;;) filled += fs.writeSync(writer, filler);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("EAGAIN");
    }
    // libuv makes a child's stdio blocking again; python3 sets O_NONBLOCK back and execs the CLI.
    const nonBlocking = "import os, sys; os.set_blocking(1, False); os.execv(sys.argv[1], sys.argv[1:])";
    const cli = [process.execPath, CLI, "--root", root, "state", FIXTURE_ROOT_ID];
    const child = spawn("python3", ["-c", nonBlocking, ...cli], {
      stdio: ["ignore", writer, "pipe"],
      env: cliEnv(),
    });
    fs.closeSync(writer);
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));

    // Nothing is read until the CLI has met the full pipe: it ends, or waits on its stream for a reader.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1500))]);
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(65536);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(reader, buffer);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      if (n === 0) break; // every writer closed: the CLI has exited
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    fs.closeSync(reader);
    const status = await exited;
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const all = Buffer.concat(chunks);
    expect(all.subarray(0, filled).every((b) => b === 0x66)).toBe(true);
    expect(all.subarray(filled).toString("utf8")).toBe(expected.stdout);
  });

  it("a plain list prints, fails and exits exactly as the same list parsed by commander", () => {
    const root = makeRoot({ fixtures: true });
    fs.writeFileSync(path.join(root, "0bad_sandbox:0bad.state"), "{");
    expect(runCli(["--root", root, "reconcile"]).status).toBe(0);
    const notADirectory = path.join(makeTempDir(), "file");
    fs.writeFileSync(notADirectory, "");
    const lines = [
      ["--root", root, "list"],
      ["--root", root, "list", "--format", "json"],
      ["--root", root, "list", "--format=csv"],
      ["--root", root, "list", "--json"],
      ["--root", root, "list", "-q"],
      ["--root", root, "--index", root, "list", "--format", "json"],
      ["--root", notADirectory, "list", "--json"],
      ["--root", path.join(root, "missing"), "list"],
    ];
    for (const line of lines) {
      const plain = runCli(line);
      // --lock-timeout is not a plain option: the same list goes through commander.
      const parsed = runCli(["--lock-timeout", "60000", ...line]);
      expect({ line, ...plain }).toEqual({ line, ...parsed });
    }
    expect(runCli(lines[0]!).stdout.split("\n").length).toBeGreaterThan(3);
    expect(runCli(lines[5]!).status).toBe(1);
  });
});
