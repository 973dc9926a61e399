#!/usr/bin/env node
/**
 * The runsc-index executable. The common `runsc-index [--root DIR] find
 * PREFIX`, `state ID` and `list [--format F]` run without loading
 * commander: they are measured against runsc's own, and commander costs
 * more than a lookup (plain-find.ts). Every other command line goes to
 * program.ts.
 */
import fs from "node:fs";
import { exitNow } from "../native/libc.js";
import { COMPLETE_COMMAND, complete, parseComplete } from "./complete.js";
import { EXIT_OK } from "./exit-codes.js";
import type { Io } from "./output.js";
import { type PlainCommand, plainCommand, plainList } from "./plain-find.js";
import { escapeControls, isTerminal } from "./terminal.js";

/** A terminal never gets raw control characters from state files; a pipe gets the exact bytes. */
function forStdout(write: (text: string) => void, toTerminal: boolean): (text: string) => void {
  return toTerminal ? (text) => write(escapeControls(text)) : write;
}

/** streamIo writes through process.stdout and process.stderr, with backpressure, for every command but the plain ones. */
function streamIo(): Io {
  // `runsc-index list | head`: a closed pipe ends the output, not with a crash.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
    throw e;
  });
  return {
    out: forStdout((s) => void process.stdout.write(s), process.stdout.isTTY === true),
    err: (s) => void process.stderr.write(s),
    errIsTTY: process.stderr.isTTY === true,
    drained: async () => {
      for (const stream of [process.stdout, process.stderr]) {
        if (stream.writableNeedDrain) await new Promise((resolve) => stream.once("drain", resolve));
      }
    },
    hardExit: async (status) => {
      // An empty write calls back once everything written before it is out.
      for (const stream of [process.stdout, process.stderr]) await new Promise((resolve) => stream.write("", resolve));
      return exitNow(status);
    },
  };
}

/**
 * fdIo writes the few lines of a plain find or state with write(2): Node
 * builds process.stdout's stream (net, stream, ...) on first use, some
 * milliseconds of a lookup that prints one line. A descriptor that would
 * block (a non-blocking pipe that is full) hands the rest to the stream.
 */
function fdIo(): Io {
  const streamed = new Set<number>();
  const write = (fd: 1 | 2, text: string) => {
    if (streamed.has(fd)) return void (fd === 1 ? process.stdout : process.stderr).write(text);
    const bytes = Buffer.from(text);
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
      if (code !== "EAGAIN") throw e;
      streamed.add(fd);
      (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
    }
  };
  return { out: forStdout((s) => write(1, s), isTerminal(1)), err: (s) => write(2, s), errIsTTY: isTerminal(2) };
}

async function run(argv: readonly string[]): Promise<number> {
  if (argv.includes(COMPLETE_COMMAND)) {
    const request = parseComplete(argv);
    if (request !== undefined) {
      const { defaultRoot } = await import("./default-root.js");
      streamIo().out(await complete(request, defaultRoot));
      return EXIT_OK;
    }
  }
  const plain = plainCommand(argv) ?? plainList(argv);
  if (plain === undefined) {
    const { runProgram } = await import("./program.js");
    return runProgram(argv, streamIo());
  }
  const io = fdIo();
  try {
    await runPlain(plain, io);
    return EXIT_OK;
  } catch (e) {
    const { reportError } = await import("./report.js");
    // As program.ts: with JSON output an error is also printed as JSON on stdout.
    return reportError(e, plain.command === "list" && plain.format === "json", io);
  }
}

/** runPlain runs a plain find, state or list as program.ts would, loading only that command's modules. */
async function runPlain(plain: PlainCommand, io: Io): Promise<void> {
  const { defaultRoot } = await import("./default-root.js");
  const root = plain.root ?? defaultRoot();
  const index = plain.index;
  if (plain.command === "find") {
    const { find } = await import("./commands/find.js");
    await find({ root, index, prefix: plain.prefix }, io);
  } else if (plain.command === "state") {
    const { state } = await import("./commands/state.js");
    await state({ root, index, id: plain.id }, io);
  } else {
    const { list } = await import("./commands/list.js");
    await list({ root, index, format: plain.format }, io);
  }
}

run(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
