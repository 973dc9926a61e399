#!/usr/bin/env node
/**
 * The runsc-index executable. The common `runsc-index [--root DIR] find
 * PREFIX` and `state ID` run without loading commander: a whole-process
 * lookup is measured against runsc's own, and commander costs more than the
 * lookup. Every other command line goes to program.ts.
 */
import { exitNow } from "../native/libc.js";
import { COMPLETE_COMMAND, complete, parseComplete } from "./complete.js";
import { EXIT_OK } from "./exit-codes.js";
import type { Io } from "./output.js";
import { type PlainCommand, plainCommand } from "./plain-find.js";
import { escapeControls } from "./terminal.js";

const processIo: Io = {
  // A terminal never gets raw control characters from state files; a pipe gets the exact bytes.
  out: process.stdout.isTTY ? (s) => void process.stdout.write(escapeControls(s)) : (s) => void process.stdout.write(s),
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

// `runsc-index list | head`: a closed pipe ends the output, not with a crash.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
  throw e;
});

async function run(argv: readonly string[]): Promise<number> {
  if (argv.includes(COMPLETE_COMMAND)) {
    const request = parseComplete(argv);
    if (request !== undefined) {
      const { defaultRoot } = await import("./default-root.js");
      processIo.out(await complete(request, defaultRoot));
      return EXIT_OK;
    }
  }
  const plain = plainCommand(argv);
  if (plain === undefined) {
    const { runProgram } = await import("./program.js");
    return runProgram(argv, processIo);
  }
  try {
    await runPlain(plain);
    return EXIT_OK;
  } catch (e) {
    const { reportError } = await import("./report.js");
    return reportError(e, false, processIo);
  }
}

/** runPlain runs a plain find or state as program.ts would, loading only that command's modules. */
async function runPlain(plain: PlainCommand): Promise<void> {
  const { defaultRoot } = await import("./default-root.js");
  const root = plain.root ?? defaultRoot();
  const index = plain.index;
  if (plain.command === "find") {
    const { find } = await import("./commands/find.js");
    await find({ root, index, prefix: plain.prefix }, processIo);
  } else {
    const { state } = await import("./commands/state.js");
    await state({ root, index, id: plain.id }, processIo);
  }
}

run(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
