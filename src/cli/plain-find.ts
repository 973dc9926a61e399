/**
 * plainFind recognizes exactly `[--root DIR] [--index FILE] find PREFIX`
 * (`--opt=value` too); anything else, help and typos included, is left to
 * commander so that it is parsed and reported the same way as ever.
 */
export function plainFind(argv: readonly string[]): { root?: string; index?: string; prefix: string } | undefined {
  const globals: { root?: string; index?: string } = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("--"); i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== "--root" && flag !== "--index") return undefined;
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || value.startsWith("-")) return undefined;
    globals[flag === "--root" ? "root" : "index"] = value;
  }
  if (argv.length !== i + 2 || argv[i] !== "find" || argv[i + 1]!.startsWith("-")) return undefined;
  return { ...globals, prefix: argv[i + 1]! };
}
