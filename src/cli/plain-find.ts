/**
 * The plain command lines main.ts runs without loading commander: a
 * whole-process `find`, `state` or `list` is measured against runsc's own,
 * and commander (with the node:child_process it loads) costs more than a
 * lookup and a tenth of a 10,000-container listing. Exactly
 * `[--root DIR] [--index FILE] find PREFIX` or `... state ID`, and
 * `... list` with at most one of `--format F`, `--json`, `-q`/`--quiet`
 * (`--opt=value` too); anything else, help and typos included, is left to
 * commander so that it is parsed and reported the same way as ever.
 */
import { LIST_FORMATS, type ListFormat } from "./output.js";

export type PlainCommand =
  | { command: "find"; root?: string; index?: string; prefix: string }
  | { command: "state"; root?: string; index?: string; id: string }
  | { command: "list"; root?: string; index?: string; format: ListFormat };

type Globals = { root?: string; index?: string };

const PLAIN_COMMANDS = new Set(["find", "state"]);

/** plainCommand returns the plain find or state argv spells, or undefined for anything commander must parse. */
export function plainCommand(argv: readonly string[]): PlainCommand | undefined {
  const start = leadingGlobals(argv);
  if (start === undefined) return undefined;
  const { globals, i } = start;
  const command = argv[i];
  if (argv.length !== i + 2 || !PLAIN_COMMANDS.has(command!) || argv[i + 1]!.startsWith("-")) return undefined;
  return command === "find"
    ? { command, ...globals, prefix: argv[i + 1]! }
    : { command: "state", ...globals, id: argv[i + 1]! };
}

/** plainList returns the plain list argv spells (its format as commander would set it), or undefined. */
export function plainList(argv: readonly string[]): PlainCommand | undefined {
  const start = leadingGlobals(argv);
  if (start === undefined || argv[start.i] !== "list") return undefined;
  const format = listFormat(argv.slice(start.i + 1));
  return format === undefined ? undefined : { command: "list", ...start.globals, format };
}

/** listFormat reads list's options when they are none or one plain format option; undefined otherwise. */
function listFormat(options: readonly string[]): ListFormat | undefined {
  const [first, second] = options;
  if (first === undefined) return "table";
  if (options.length === 1 && first === "--json") return "json";
  if (options.length === 1 && (first === "-q" || first === "--quiet")) return "ids";
  const value = options.length === 1 && first.startsWith("--format=") ? first.slice("--format=".length) : undefined;
  const chosen = value ?? (options.length === 2 && first === "--format" ? second : undefined);
  return (LIST_FORMATS as readonly string[]).includes(chosen!) ? (chosen as ListFormat) : undefined;
}

/** leadingGlobals reads `--root`/`--index` before the command; undefined for any other option or a missing value. */
function leadingGlobals(argv: readonly string[]): { globals: Globals; i: number } | undefined {
  const globals: Globals = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("--"); i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== "--root" && flag !== "--index") return undefined;
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || value.startsWith("-")) return undefined;
    globals[flag === "--root" ? "root" : "index"] = value;
  }
  return { globals, i };
}
