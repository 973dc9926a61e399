/**
 * The hidden `runsc-index [--root DIR] [--index FILE] __complete
 * [--sandboxes] PREFIX` that completion scripts call for IDs: it prints
 * the matching IDs from the index, one per line, without loading commander
 * or the store (no rescan of the root), so that a tab press stays fast at
 * 100,000 containers.
 */
import path from "node:path";

/** The hidden command's name. */
export const COMPLETE_COMMAND = "__complete";
/** IDs offered at most: a shell shows no more than this usefully. */
const MAX_IDS = 1_000;

/** A parsed __complete command line. */
export interface CompleteRequest {
  readonly root?: string;
  readonly index?: string;
  readonly sandboxes: boolean;
  readonly prefix: string;
}

/** parseComplete recognizes `[--root DIR] [--index FILE] __complete [--sandboxes] [PREFIX]`; else undefined. */
export function parseComplete(argv: readonly string[]): CompleteRequest | undefined {
  const globals: { root?: string; index?: string } = {};
  let i = 0;
  for (; i < argv.length && argv[i] !== COMPLETE_COMMAND; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== "--root" && flag !== "--index") return undefined;
    const value = inline ?? argv[++i];
    if (value === undefined) return undefined;
    globals[flag === "--root" ? "root" : "index"] = value;
  }
  if (argv[i] !== COMPLETE_COMMAND) return undefined;
  const rest = argv.slice(i + 1);
  const sandboxes = rest[0] === "--sandboxes";
  const prefix = (sandboxes ? rest[1] : rest[0]) ?? "";
  return { ...globals, sandboxes, prefix };
}

/** complete returns the IDs to offer, one per line (nothing without an index). */
export async function complete(request: CompleteRequest, defaultRoot: () => string): Promise<string> {
  const { completionIds } = await import("../index/completions.js");
  const root = path.resolve(request.root ?? defaultRoot());
  // INDEX_DIR of store/open-store.ts, spelled out: importing it would load the store.
  const file = path.resolve(request.index ?? path.join(root, ".runsc-index", "index.db"));
  const ids = completionIds(file, request.sandboxes ? "sandboxes" : "containers", request.prefix, MAX_IDS);
  return ids.map((id) => `${id}\n`).join("");
}
