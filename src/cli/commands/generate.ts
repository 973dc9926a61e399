import { generateRoot } from "../../generate/generate.js";
import { type Io, jsonLine } from "../output.js";

export interface GenerateCommandOptions {
  /** The directory to fill; created if missing, must be empty. */
  readonly dir: string;
  /** How many containers (state files) to write. */
  readonly count: number;
  /** PRNG seed: the same seed and count give the same files. */
  readonly seed?: number | undefined;
  /** Print {"root","containers","sandboxes","bytes"} instead of the summary and next steps. */
  readonly json?: boolean | undefined;
}

/**
 * generate writes a root of realistic runsc state files (pods of 1-5
 * containers, each state file with its .lock, sandbox PIDs that cannot be
 * alive) and prints what it wrote and the commands to try next. Throws
 * ERR_INVALID_ARGUMENT (bad count, directory not empty), ERR_IO.
 */
export async function generate(options: GenerateCommandOptions, io: Io): Promise<void> {
  const started = performance.now();
  const root = await generateRoot(options.dir, options.count, { seed: options.seed ?? 1 });
  const sandboxes = new Set(root.containers.map((c) => c.sandboxId)).size;
  if (options.json) {
    io.out(jsonLine({ root: root.dir, containers: root.containers.length, sandboxes, bytes: root.bytes }));
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const mb = (root.bytes / 1e6).toFixed(1);
  io.out(
    `Generated ${root.containers.length} containers in ${sandboxes} sandboxes (${mb} MB of state files, ` +
      `each with its .lock) in ${root.dir} in ${seconds} s.\n`,
  );
  const example = root.containers[Math.floor(root.containers.length / 3)];
  if (example) io.out(nextSteps("runsc-index", root.dir, example.containerId.slice(0, 6)));
}

/**
 * nextSteps returns the commands to try on a generated root, each after a
 * comment line saying what it does (the whole text pastes into a shell); `command` is how the user runs runsc-index
 * (`runsc-index`, `npx runsc-index`).
 */
export function nextSteps(command: string, root: string, prefix: string): string {
  const r = `${command} --root ${shellWord(root)}`;
  const steps: [string, string][] = [
    [`${r} reconcile`, "build the index (a progress bar on a terminal)"],
    [`${r} find ${prefix}`, "the full ID a prefix names"],
    [`${r} list | head`, "what `runsc list` would print"],
    [`${r} state ${prefix}`, "the OCI state, as `runsc state` prints it"],
    [
      `${r} query "SELECT pod_namespace, count(*) AS n FROM containers GROUP BY 1 ORDER BY n DESC LIMIT 5"`,
      "SQL on the index (docs/sql.md)",
    ],
    [`${r} watch`, "keep the index live until Ctrl-C"],
  ];
  const lines = steps.map(([c, what]) => `  # ${what}\n  ${c}\n`).join("");
  return `\nNext, try:\n${lines}  # when done: rm -r ${shellWord(root)}\n`;
}

/** shellWord quotes `s` for a POSIX shell unless it needs no quoting. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
