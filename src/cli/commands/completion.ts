import type { Io } from "../output.js";

/** Shells `completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** One option as completion sees it. */
export interface CompletionOption {
  /** `--format`, `-q` ... every spelling. */
  readonly names: readonly string[];
  readonly description: string;
  /** The option takes a value. */
  readonly takesValue: boolean;
  /** The values it accepts, when it lists them. */
  readonly choices?: readonly string[];
}

/** What the scripts complete, read from the command definitions (program.ts). */
export interface CompletionSpec {
  readonly globalOptions: readonly CompletionOption[];
  readonly commands: readonly {
    readonly name: string;
    readonly description: string;
    readonly options: readonly CompletionOption[];
    /** What its first argument is: a container ID (completed from the index), a directory, one of choices, or other. */
    readonly argument: "container" | "directory" | "other" | "none" | { readonly choices: readonly string[] };
  }[];
}

/** Options whose value is a path: completed from the file system. */
const PATH_OPTIONS = new Set(["--root", "--index"]);

/** completion prints the completion script for `shell`. */
export function completion(shell: Shell, spec: CompletionSpec, io: Io): void {
  io.out(SCRIPTS[shell](spec));
}

const SCRIPTS: Readonly<Record<Shell, (spec: CompletionSpec) => string>> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

const words = (xs: readonly string[]) => xs.join(" ");
const longNames = (options: readonly CompletionOption[]) => options.flatMap((o) => o.names);
const valueOptions = (options: readonly CompletionOption[]) => options.filter((o) => o.takesValue);

/**
 * bashScript defines _runsc_index for `complete -F`: it finds the command and
 * any --root/--index among the words before the cursor, then offers
 * commands, that command's options, an option's choices, paths, or IDs from
 * `runsc-index __complete` (container IDs; sandbox IDs after --sandbox).
 */
function bashScript(spec: CompletionSpec): string {
  const commandCases = spec.commands
    .map((c) => {
      const valueCases = valueOptions(c.options)
        .map((o) => {
          const pattern = o.names.join("|");
          if (o.names.includes("--sandbox")) return `        ${pattern}) _runsc_index_ids --sandboxes; return ;;`;
          if (o.choices)
            return `        ${pattern}) COMPREPLY=($(compgen -W "${words(o.choices)}" -- "$cur")); return ;;`;
          return `        ${pattern}) return ;;`;
        })
        .join("\n");
      const arg =
        c.argument === "container"
          ? "_runsc_index_ids"
          : c.argument === "directory"
            ? 'COMPREPLY=($(compgen -d -- "$cur"))'
            : typeof c.argument === "object"
              ? `COMPREPLY=($(compgen -W "${words(c.argument.choices)}" -- "$cur"))`
              : ":";
      return `    ${c.name})
      case "$prev" in
${valueCases}
      esac
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${words(longNames(c.options))}" -- "$cur")); else ${arg}; fi ;;`;
    })
    .join("\n");
  const globalValues = valueOptions(spec.globalOptions).flatMap((o) => o.names);
  const pathGlobals = globalValues.filter((n) => PATH_OPTIONS.has(n));
  return `# bash completion for runsc-index (runsc-index completion bash)
_runsc_index_ids() {
  local IFS=$'\\n'
  COMPREPLY=($(runsc-index "\${_runsc_index_globals[@]}" __complete $1 "$cur" 2>/dev/null))
}
_runsc_index() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" i
  _runsc_index_globals=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${pathGlobals.join("|")}) _runsc_index_globals+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      ${globalValues.filter((n) => !PATH_OPTIONS.has(n)).join("|") || "--"}) ((i++)) ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd="\${COMP_WORDS[i]}" ;;
    esac
  done
  if [[ -z $cmd ]]; then
    case "$prev" in
      ${pathGlobals.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      ${globalValues.filter((n) => !PATH_OPTIONS.has(n)).join("|") || "--"}) return ;;
    esac
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "${words(longNames(spec.globalOptions))}" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "${words(spec.commands.map((c) => c.name))}" -- "$cur"))
    fi
    return
  fi
  case "$cmd" in
${commandCases}
  esac
}
complete -o default -F _runsc_index runsc-index
`;
}

/** zshScript is a #compdef function: the same decisions as bash, with descriptions. */
function zshScript(spec: CompletionSpec): string {
  const describe = (name: string, description: string) => `'${name}:${description.replace(/[':\\]/g, " ")}'`;
  const commandCases = spec.commands
    .map((c) => {
      const valueCases = valueOptions(c.options)
        .map((o) => {
          const pattern = o.names.join("|");
          if (o.names.includes("--sandbox")) return `        ${pattern}) _runsc_index_ids --sandboxes; return ;;`;
          if (o.choices) return `        ${pattern}) compadd -- ${words(o.choices)}; return ;;`;
          return `        ${pattern}) return ;;`;
        })
        .join("\n");
      const options = c.options.flatMap((o) => o.names.map((n) => describe(n, o.description)));
      const arg =
        c.argument === "container"
          ? "_runsc_index_ids"
          : c.argument === "directory"
            ? "_files -/"
            : typeof c.argument === "object"
              ? `compadd -- ${words(c.argument.choices)}`
              : ":";
      return `    ${c.name})
      case "$prev" in
${valueCases}
      esac
      if [[ $cur == -* ]]; then opts=(${options.join(" ")}); _describe option opts; else ${arg}; fi ;;`;
    })
    .join("\n");
  const globalValues = valueOptions(spec.globalOptions).flatMap((o) => o.names);
  const pathGlobals = globalValues.filter((n) => PATH_OPTIONS.has(n));
  const otherGlobals = globalValues.filter((n) => !PATH_OPTIONS.has(n)).join("|") || "--";
  const globals = spec.globalOptions.flatMap((o) => o.names.map((n) => describe(n, o.description)));
  const commands = spec.commands.map((c) => describe(c.name, c.description));
  return `#compdef runsc-index
# zsh completion for runsc-index (runsc-index completion zsh)
_runsc_index_ids() {
  local -a ids
  ids=(\${(f)"$(runsc-index \${_runsc_index_globals[@]} __complete $1 "$cur" 2>/dev/null)"})
  compadd -- \${ids[@]}
}
_runsc_index() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmd="" i
  local -a opts
  _runsc_index_globals=()
  for ((i = 2; i < CURRENT; i++)); do
    case "\${words[i]}" in
      ${pathGlobals.join("|")}) _runsc_index_globals+=("\${words[i]}" "\${words[i+1]}"); ((i++)) ;;
      ${otherGlobals}) ((i++)) ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd="\${words[i]}" ;;
    esac
  done
  if [[ -z $cmd ]]; then
    case "$prev" in
      ${pathGlobals.join("|")}) _files; return ;;
      ${otherGlobals}) return ;;
    esac
    if [[ $cur == -* ]]; then opts=(${globals.join(" ")}); _describe option opts
    else opts=(${commands.join(" ")}); _describe command opts; fi
    return
  fi
  case "$cmd" in
${commandCases}
  esac
}
compdef _runsc_index runsc-index
`;
}

/** fishScript is `complete -c runsc-index` lines; IDs come from __complete with the line's --root/--index. */
function fishScript(spec: CompletionSpec): string {
  const q = (s: string) => `'${s.replace(/[\\']/g, "\\$&")}'`;
  const optionLine = (o: CompletionOption, condition: string) => {
    const flags = o.names.map((n) => (n.startsWith("--") ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(" ");
    let values = "";
    if (o.names.includes("--sandbox")) values = " -x -a '(__runsc_index_ids --sandboxes)'";
    else if (o.choices) values = ` -x -a ${q(words(o.choices))}`;
    else if (o.names.some((n) => PATH_OPTIONS.has(n))) values = " -r -F";
    else if (o.takesValue) values = " -x";
    return `complete -c runsc-index -n ${q(condition)} ${flags}${values} -d ${q(o.description)}`;
  };
  const names = words(spec.commands.map((c) => c.name));
  const lines = [
    "# fish completion for runsc-index (runsc-index completion fish)",
    "function __runsc_index_ids",
    "    set -l globals",
    "    set -l tokens (commandline -opc)",
    "    for i in (seq 2 (count $tokens))",
    "        switch $tokens[$i]",
    "            case --root --index",
    "                set -a globals $tokens[$i] $tokens[(math $i + 1)]",
    "            case '--root=*' '--index=*'",
    "                set -a globals $tokens[$i]",
    "        end",
    "    end",
    "    runsc-index $globals __complete $argv (commandline -ct) 2>/dev/null",
    "end",
    "complete -c runsc-index -f",
    ...spec.globalOptions.map((o) => optionLine(o, `not __fish_seen_subcommand_from ${names}`)),
    ...spec.commands.map(
      (c) =>
        `complete -c runsc-index -n ${q(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name} -d ${q(c.description)}`,
    ),
  ];
  for (const c of spec.commands) {
    const when = `__fish_seen_subcommand_from ${c.name}`;
    lines.push(...c.options.map((o) => optionLine(o, when)));
    if (c.argument === "container") lines.push(`complete -c runsc-index -n ${q(when)} -a '(__runsc_index_ids)'`);
    if (c.argument === "directory") lines.push(`complete -c runsc-index -n ${q(when)} -F`);
    if (typeof c.argument === "object")
      lines.push(`complete -c runsc-index -n ${q(when)} -a ${q(words(c.argument.choices))}`);
  }
  return `${lines.join("\n")}\n`;
}
