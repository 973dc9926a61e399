/**
 * The plain command lines main.ts runs without loading commander: a
 * whole-process `find` or `state` is measured against runsc's own, and
 * commander costs more than the lookup. Exactly `[--root DIR] [--index FILE]
 * find PREFIX` or `... state ID` (`--opt=value` too); anything else, help and
 * typos included, is left to commander so that it is parsed and reported the
 * same way as ever.
 */
export type PlainCommand =
  | { command: "find"; root?: string; index?: string; prefix: string }
  | { command: "state"; root?: string; index?: string; id: string };

const PLAIN_COMMANDS = new Set(["find", "state"]);

/** plainCommand returns the plain command argv spells, or undefined for anything commander must parse. */
export function plainCommand(argv: readonly string[]): PlainCommand | undefined {
  const globals: { root?: string; index?: string } = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("--"); i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== "--root" && flag !== "--index") return undefined;
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || value.startsWith("-")) return undefined;
    globals[flag === "--root" ? "root" : "index"] = value;
  }
  const command = argv[i];
  if (argv.length !== i + 2 || !PLAIN_COMMANDS.has(command!) || argv[i + 1]!.startsWith("-")) return undefined;
  return command === "find"
    ? { command, ...globals, prefix: argv[i + 1]! }
    : { command: "state", ...globals, id: argv[i + 1]! };
}
