/**
 * The runsc-index command line as commander sees it: every command with its
 * options, help and examples, and nothing heavy. Each action imports its
 * command module only when it runs, so `find` loads the index and not the
 * reconciler's workers or the watcher. Commands throw; report.ts maps an
 * error's `code` to the exit status and prints `runsc-index: <message>`.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { EVENT_TYPES as LOGGED_EVENT_TYPES } from "../index/event-types.js";
import { STATUSES } from "../state/status.js";
import type { CompletionOption, CompletionSpec } from "./commands/completion.js";
import { defaultRoot } from "./default-root.js";
import { EXIT_OK } from "./exit-codes.js";
import {
  type Io,
  LIST_FORMATS,
  type ListFormat,
  QUERY_FORMATS,
  type QueryFormat,
  TABLE_WINDOW_ROWS,
  TEXT_FORMATS,
} from "./output.js";
import { reportError } from "./report.js";
import { RUNSC_FORMAT_ENV, RUNSC_FORMATS } from "./runsc-flavor.js";

/** What main needs to know while a command runs. */
interface RunState {
  /** The command's output is JSON (--json, or --format json): errors go to stdout as JSON too. */
  json: boolean;
  /** The exit status a command asked for (doctor). */
  status: number;
  /** --no-trunc: an ambiguity error on a terminal lists whole IDs. */
  noTrunc: boolean;
}

/** runProgram runs one command line (without "node main.js") and returns the exit status. */
export async function runProgram(argv: readonly string[], io: Io): Promise<number> {
  const run: RunState = { json: argvWantsJson(argv), status: EXIT_OK, noTrunc: argv.includes("--no-trunc") };
  try {
    await buildProgram(io, run).parseAsync([...argv], { from: "user" });
    return run.status;
  } catch (e) {
    return reportError(e, run.json, io, { noTrunc: run.noTrunc });
  }
}

function buildProgram(io: Io, run: RunState): Command {
  const program = new Command("runsc-index")
    .description(
      "A SQLite index of gVisor runsc container state files: fast prefix lookups, runsc-identical listings and SQL.",
    )
    .option("--root <dir>", "runsc's root directory (runsc --root)", defaultRoot())
    .option("--index <file>", "the index database (default: <root>/.runsc-index/index.db)")
    .option("--lock-timeout <ms>", "give up waiting for a container's lock after this long (exit 5)", milliseconds)
    .addOption(
      new Option(
        "--runsc-format <release>",
        `print list/state bytes as this runsc release does (default: $${RUNSC_FORMAT_ENV}, else the host's runsc)`,
      ).choices(RUNSC_FORMATS),
    )
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: () => {}, // reportError prints usage errors in our one-line format
    })
    .addHelpText(
      "after",
      `
Exit status: 0 ok, 1 error, 2 usage or invalid ID, 3 not found, 4 ambiguous, 5 locked or lock timeout.

Example:
  $ runsc-index --root /run/containerd/runsc/k8s.io find 9f44`,
    );

  /** begin records how errors must be printed, then returns the options of the whole command line. */
  const begin = <T>(cmd: Command, json: boolean): T => {
    run.json = json;
    return cmd.optsWithGlobals<T & object>();
  };

  program
    .command("reconcile")
    .description("bring the index in line with the state files; report scanned/added/updated/removed/invalid and time")
    .option("--full", "read every file, not only changed ones")
    .option("--with-state", "store each file's whole JSON in containers.state (about 7x slower)")
    .addHelpText(
      "after",
      `
A progress bar is drawn on stderr when it is a terminal.

Examples:
  $ runsc-index reconcile
  incremental reconcile: 10000 state files scanned, 3 added, 1 updated, 2 removed, 9994 unchanged, 0 invalid in 0.21 s
  $ runsc-index reconcile --full --json`,
    )
    .action(async (_opts, cmd: Command) => {
      const { reconcile } = await import("./commands/reconcile.js");
      const json = formatOf(cmd) === "json";
      await reconcile({ ...begin<Parameters<typeof reconcile>[0]>(cmd, json), json }, io);
    });

  program
    .command("find")
    .description("print the container ID a prefix names (an exact ID wins)")
    .argument("<prefix>", "a container ID or a prefix of one")
    .option("--sandbox <sid>", "only containers of this sandbox")
    .option("--no-trunc", "an ambiguity error shows whole IDs, not 12 characters")
    .addHelpText(
      "after",
      `
Examples:
  $ runsc-index find 9f44
  9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd
  $ runsc-index find 9579 --json
  {"containerId":"9579ebb6...","sandboxId":"9f447d26..."}`,
    )
    .action(async (prefix: string, _opts, cmd: Command) => {
      const { find } = await import("./commands/find.js");
      const json = formatOf(cmd) === "json";
      await find({ ...begin<Parameters<typeof find>[0]>(cmd, json), json, prefix }, io);
    });

  program
    .command("list")
    .description("list containers exactly as `runsc list` prints them (table, --format json, or IDs)")
    .option("--sandbox <sid>", "only containers of this sandbox")
    .addOption(
      new Option("--status <status>", "only containers with this status (after the liveness check)").choices(STATUSES),
    )
    .addOption(
      new Option(
        "-q, --quiet",
        "print the container IDs of the state file names, reading no file (runsc list -q)",
      ).conflicts(["format", "json"]),
    )
    .option("--strict-liveness", "add STRICT STATUS and LIVENESS: the sandbox process checked for zombie and PID reuse")
    .option("--no-fresh", "trust the index's contents instead of checking every file (names are always current)")
    .addHelpText(
      "after",
      `
Examples:
  $ runsc-index list
  ID                                                                 PID         STATUS      BUNDLE   ...
  9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd   412345      running     /run/... ...
  $ runsc-index list --status running --format json`,
    )
    .action(async (_opts, cmd: Command) => {
      const { list } = await import("./commands/list.js");
      const format = cmd.opts().quiet ? "ids" : formatOf<ListFormat>(cmd);
      await list({ ...begin<Parameters<typeof list>[0]>(cmd, format === "json"), format }, io);
    });

  program
    .command("state")
    .description("print the container's OCI state exactly as `runsc state` does")
    .argument("<id>", "a container ID or a prefix of one")
    .option("--sandbox <sid>", "only containers of this sandbox")
    .option(
      "--strict-liveness",
      'add "strictStatus" and "liveness": the sandbox process checked for zombie and PID reuse',
    )
    .option("--no-trunc", "an ambiguity error shows whole IDs, not 12 characters")
    .addHelpText(
      "after",
      `
Example:
  $ runsc-index state 9f44
  {
    "ociVersion": "1.2.1",
    "id": "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd",
    "status": "running",
    ...`,
    )
    .action(async (id: string, _opts, cmd: Command) => {
      const { state } = await import("./commands/state.js");
      await state({ ...begin<Parameters<typeof state>[0]>(cmd, false), id }, io);
    });

  program
    .command("show")
    .description("print the container's state file as stored (compact JSON, no liveness check)")
    .argument("<id>", "a container ID or a prefix of one")
    .option("--sandbox <sid>", "only containers of this sandbox")
    .option("--pretty", "indent by two spaces (Go's json.MarshalIndent)")
    .option("--no-trunc", "an ambiguity error shows whole IDs, not 12 characters")
    .addHelpText(
      "after",
      `
Examples:
  $ runsc-index show 9579 | jq .sandbox.pid
  $ runsc-index show 9579 --pretty`,
    )
    .action(async (id: string, _opts, cmd: Command) => {
      const { show } = await import("./commands/show.js");
      await show({ ...begin<Parameters<typeof show>[0]>(cmd, false), id }, io);
    });

  program
    .command("query")
    .description("run one read-only SQL statement on the index (see docs/sql.md)")
    .argument("<sql>", "one SELECT, WITH or VALUES statement (EXPLAIN [QUERY PLAN] allowed)")
    .option("--param <value>", "a value for the next ? placeholder (repeatable; bound as text)", collect)
    .option("--named <key=value>", "a value for @key, :key or $key (repeatable; bound as text)", collect)
    .option("--no-fresh", "trust the index's contents instead of checking every file (names are always current)")
    .option(
      "--timeout <ms>",
      "stop the query after this long in SQLite (default 30000; exit 1, ERR_QUERY_TIMEOUT)",
      positive,
    )
    .option("--limit <n>", "print at most this many rows", wholeNumber)
    .addHelpText(
      "after",
      `
Rows are printed as they come (table: column widths per window of ${TABLE_WINDOW_ROWS} rows).

Examples:
  $ runsc-index query "SELECT status, count(*) AS n FROM containers GROUP BY status"
  status   n
  created  612
  running  9041
  $ runsc-index query "SELECT container_id FROM containers WHERE pod_namespace = ?" --param kube-system --format csv
  $ runsc-index query "SELECT * FROM sandboxes WHERE pod_name = @pod" --named pod=web-7d9f8c6b5-x2lqp --format json`,
    )
    .action(async (sql: string, _opts, cmd: Command) => {
      const { query } = await import("./commands/query.js");
      const format = formatOf<QueryFormat>(cmd);
      await query({ ...begin<Parameters<typeof query>[0]>(cmd, format === "json"), format, sql }, io);
    });

  const followOptions = (cmd: Command) =>
    cmd
      .option("--since <seq>", "first print the logged events after this sequence number (resume)", sequence)
      .option("--container <id>", "only events of this container (full ID)")
      .option("--sandbox <id>", "only events of this sandbox (full ID)")
      .option("--type <types>", `only these event types, comma-separated: ${EVENT_TYPES.join(", ")}`, eventTypes);

  followOptions(
    program
      .command("watch")
      .description(
        "keep the index live (inotify) until SIGINT/SIGTERM, printing each change as an event; other processes then skip their rescans",
      )
      .option("--export <url>", 'also keep this host\'s rows in PostgreSQL current (postgres://...; "" for PG* env)')
      .option("--host <name>", "host name of the exported rows (default: this machine's host name)")
      .option("--metrics <host:port>", "serve Prometheus metrics at http://<host:port>/metrics"),
  )
    .addHelpText(
      "after",
      `
Under systemd (Type=notify) it reports READY=1 once the first pass is done.

Examples:
  $ runsc-index watch
  watching /run/containerd/runsc/k8s.io (stop with Ctrl-C)
  17 2026-12-01T01:02:03.456Z updated 9579ebb6... (sandbox 9f447d26...) running -> stopped
  $ runsc-index watch --json --since 17 | jq -c 'select(.type == "removed")'
  $ runsc-index watch --export postgres://runsc@db.example/fleet --metrics 127.0.0.1:9464 > /dev/null`,
    )
    .action(async (_opts, cmd: Command) => {
      const { watch } = await import("./commands/watch.js");
      const json = formatOf(cmd) === "json";
      await watch({ ...begin<Parameters<typeof watch>[0]>(cmd, json), json }, io);
    });

  followOptions(
    program
      .command("events")
      .description(
        "print each change as one JSON object a line (created, updated, removed, stopped, overflow, resync), as `podman events --format json`",
      ),
  )
    .addHelpText(
      "after",
      `
Example:
  $ runsc-index events --type stopped --sandbox 9f447d26...
  {"type":"stopped","seq":42,"time":"2026-12-01T01:02:03.456Z","containerId":"9f44...","sandboxId":"9f44...","pid":4242,"statusBefore":"running"}`,
    )
    .action(async (_opts, cmd: Command) => {
      const { events } = await import("./commands/watch.js");
      await events(begin<Parameters<typeof events>[0]>(cmd, true), io);
    });

  program
    .command("export")
    .description("copy this host's containers into PostgreSQL once (idempotent), or drop a host's rows there")
    .option("--to <url>", "postgres:// URL (default: libpq's PGHOST, PGDATABASE, PGUSER, PGPASSWORD, ...)")
    .option("--host <name>", "host name of the exported rows (default: this machine's host name)")
    .option("--drop-host <name>", "delete every row of this host instead of exporting")
    .addHelpText(
      "after",
      `
Passwords in the URL are never printed. For a live copy: runsc-index watch --export <url>.

Examples:
  $ runsc-index export --to postgres://runsc@db.example/fleet
  exported host "node-7" to postgres://runsc@db.example/fleet: 10000 containers, 10000 written, 0 deleted, 0 unchanged in 1.20 s
  $ runsc-index export --to postgres://runsc@db.example/fleet --drop-host node-3`,
    )
    .action(async (_opts, cmd: Command) => {
      const { exportCommand } = await import("./commands/export.js");
      const json = formatOf(cmd) === "json";
      await exportCommand({ ...begin<Parameters<typeof exportCommand>[0]>(cmd, json), json }, io);
    });

  program
    .command("prune")
    .description("remove orphan .lock files and stale temporary files, each under its lock; never a .state file")
    .option("--dry-run", "list what would be removed; remove nothing")
    .addHelpText(
      "after",
      `
Example:
  $ runsc-index prune --dry-run
  would remove 0a1b..._sandbox:0a1b....lock (orphan lock file)`,
    )
    .action(async (_opts, cmd: Command) => {
      const { prune } = await import("./commands/prune.js");
      const json = formatOf(cmd) === "json";
      await prune({ ...begin<Parameters<typeof prune>[0]>(cmd, json), json }, io);
    });

  program
    .command("doctor")
    .description("check the index: integrity, freshness, counts, invalid files; exit 1 if anything is wrong")
    .addHelpText(
      "after",
      `
Example:
  $ runsc-index doctor
  integrity: ok
  ...
  ok`,
    )
    .action(async (_opts, cmd: Command) => {
      const { doctor } = await import("./commands/doctor.js");
      const json = formatOf(cmd) === "json";
      run.status = await doctor({ ...begin<Parameters<typeof doctor>[0]>(cmd, json), json }, io);
    });

  program
    .command("generate")
    .description("write a root of realistic runsc state files to explore (pods of 1-5 containers, with .lock files)")
    .argument("<dir>", "the directory to fill (created if missing; must be empty)")
    .option("-n, --count <n>", "how many containers", wholeNumber, 1000)
    .option("--seed <n>", "seed of the generator: the same seed and count give the same files", wholeNumber)
    .addHelpText(
      "after",
      `
Sandbox PIDs are above the kernel's PID limit, so every container reads as stopped (as runsc would list them).

Example:
  $ runsc-index generate /tmp/demo-root --count 10000
  Generated 10000 containers in 3336 sandboxes (74.6 MB of state files, each with its .lock) in /tmp/demo-root in 3.5 s.`,
    )
    .action(async (dir: string, _opts, cmd: Command) => {
      const { generate } = await import("./commands/generate.js");
      const own = cmd.opts();
      run.json = formatOf(cmd) === "json";
      await generate({ dir, count: own.count, seed: own.seed, json: run.json }, io);
    });

  program
    .command("completion")
    .description("print a shell completion script: commands, options, and container IDs from the index")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"]))
    .addHelpText(
      "after",
      `
Examples:
  $ source <(runsc-index completion bash)                      # now; add the line to ~/.bashrc to keep it
  $ runsc-index completion zsh > "\${fpath[1]}/_runsc-index"   # then restart zsh
  $ runsc-index completion fish > ~/.config/fish/completions/runsc-index.fish`,
    )
    .action(async (shell: "bash" | "zsh" | "fish") => {
      const { completion } = await import("./commands/completion.js");
      completion(shell, completionSpec(program), io);
    });

  for (const cmd of program.commands) {
    const formats = OUTPUT_FORMATS[cmd.name()];
    if (formats) addFormatOptions(cmd, formats);
  }
  return program;
}

/**
 * The machine-output spelling of every command: `--format` with the formats
 * it has (the first is the default), and `--json` as its alias everywhere.
 * state and show print runsc's JSON always and have neither.
 */
const OUTPUT_FORMATS: Readonly<Record<string, readonly string[]>> = {
  reconcile: TEXT_FORMATS,
  find: TEXT_FORMATS,
  list: LIST_FORMATS,
  query: QUERY_FORMATS,
  watch: TEXT_FORMATS,
  export: TEXT_FORMATS,
  prune: TEXT_FORMATS,
  doctor: TEXT_FORMATS,
  generate: TEXT_FORMATS,
};

function addFormatOptions(cmd: Command, formats: readonly string[]): void {
  cmd.addOption(new Option("--format <format>", "output format").choices(formats).default(formats[0]));
  cmd.addOption(new Option("--json", "same as --format json").conflicts("format"));
}

/** formatOf returns the output format a command line asked for (--json or --format). */
function formatOf<F extends string = string>(cmd: Command): F {
  const own = cmd.opts();
  return (own.json === true ? "json" : own.format) as F;
}

/** What each command's argument is, for completion; others take none or free text. */
const COMPLETED_ARGUMENTS: Readonly<Record<string, "container" | "directory">> = {
  find: "container",
  state: "container",
  show: "container",
  generate: "directory",
};

/** completionSpec reads the commands and options completion offers from the program itself. */
function completionSpec(program: Command): CompletionSpec {
  const option = (o: Option): CompletionOption => ({
    names: [o.short, o.long].filter((n): n is string => n !== undefined),
    description: o.description,
    takesValue: o.required || o.optional,
    ...(o.argChoices ? { choices: o.argChoices } : {}),
  });
  return {
    globalOptions: program.options.filter((o) => !o.hidden).map(option),
    commands: program.commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      options: c.options.filter((o) => !o.hidden).map(option),
      argument: COMPLETED_ARGUMENTS[c.name()] ?? argumentKind(c.registeredArguments[0]),
    })),
  };
}

function argumentKind(a: Argument | undefined): CompletionSpec["commands"][number]["argument"] {
  if (a === undefined) return "none";
  return a.argChoices ? { choices: a.argChoices } : "other";
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positive(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive whole number");
  return Number(value);
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
}

/** The index's event types, and `gap` (said when a resume asks for events no longer kept). */
const EVENT_TYPES = [...LOGGED_EVENT_TYPES, "gap"] as const;

function eventTypes(value: string, previous: string[] = []): (typeof EVENT_TYPES)[number][] {
  const out = [...previous];
  for (const t of value.split(",")) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) {
      throw new InvalidArgumentError(`unknown event type "${t}" (one of ${EVENT_TYPES.join(", ")})`);
    }
    out.push(t);
  }
  return out as (typeof EVENT_TYPES)[number][];
}

function sequence(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected an event sequence number");
  }
  return Number(value);
}

function milliseconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of milliseconds");
  return Number(value);
}

/** Before commander has parsed anything, a usage error is JSON if the line asks for JSON output. */
function argvWantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === "--json" || a === "--format=json" || (a === "--format" && argv[i + 1] === "json"));
}

/** packageVersion reads "version" from the package.json above this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string };
      return pkg.version ?? "unknown";
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return "unknown";
      dir = parent;
    }
  }
}
