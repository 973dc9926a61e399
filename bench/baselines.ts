import { lstatSync, readdirSync, readFileSync } from "node:fs";

/**
 * The comparison methods of SPEC section 7: what runsc itself does to find or
 * read containers, and the floors (list, stat, read+parse) nothing built on
 * the files alone can beat. Each is synchronous and self-contained so the
 * harness can time it as one call.
 */

// runsc's parseFileName and validateID together, anchored as SPEC section 2 asks.
const STATE_NAME = /^([A-Za-z0-9_+.-]+)_sandbox:([A-Za-z0-9_+.-]+)\.state$/;
const SEP = "_sandbox:";
const SUFFIX = ".state";

/** A parsed state-file name. */
export type FullId = { containerId: string; sandboxId: string };

/**
 * matchesGlob tells whether `name` matches the glob `<prefix>*_sandbox:*.state`.
 * IDs cannot contain glob metacharacters, so the prefix is taken literally.
 */
function matchesGlob(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix) || !name.endsWith(SUFFIX)) return false;
  const sep = name.indexOf(SEP, prefix.length);
  return sep >= 0 && sep + SEP.length <= name.length - SUFFIX.length;
}

// Go's filepath.Glob reads every name and sorts them all before matching, so
// runsc pays for a sort of the whole directory on each glob; we copy that.
function globSorted(root: string, prefix: string): string[] {
  return readdirSync(root)
    .sort()
    .filter((name) => matchesGlob(name, prefix));
}

function parseStateName(name: string): FullId | undefined {
  const m = STATE_NAME.exec(name);
  return m ? { containerId: m[1]!, sandboxId: m[2]! } : undefined;
}

/** runscList returns every parseable state-file name in `root`, as runsc's container.List does. */
export function runscList(root: string): FullId[] {
  const ids: FullId[] = [];
  for (const name of globSorted(root, "")) {
    const id = parseStateName(name);
    if (id) ids.push(id); // runsc skips names that do not parse, silently
  }
  return ids;
}

/**
 * runscPrefixLookup returns the container ID `prefix` names, as runsc's
 * findContainerID does: glob `<prefix>*_sandbox:*.state`; one hit wins; several
 * send it to a full List and a HasPrefix scan. Like runsc (and unlike our
 * resolve), an exact ID that prefixes another ID is ambiguous.
 * Throws Error("not found") or Error("ambiguous").
 */
export function runscPrefixLookup(root: string, prefix: string): string {
  const hits = globSorted(root, prefix);
  if (hits.length === 0) throw new Error("not found");
  if (hits.length === 1) {
    const id = parseStateName(hits[0]!);
    if (!id) throw new Error("not found"); // runsc: parseFileName fails; the caller sees an error either way
    return id.containerId;
  }
  const found = runscList(root).filter((id) => id.containerId.startsWith(prefix));
  if (found.length > 1) throw new Error("ambiguous");
  if (found.length === 0) throw new Error("not found");
  return found[0]!.containerId;
}

/** listDirectory returns the state-file names in `root`, unsorted: the "list the directory" floor. */
export function listDirectory(root: string): string[] {
  return readdirSync(root).filter((name) => matchesGlob(name, ""));
}

/** statAll lists `root` and lstats every state file; returns their total size so the work cannot be skipped. */
export function statAll(root: string): number {
  let bytes = 0;
  for (const name of listDirectory(root)) {
    const st = lstatIfPresent(`${root}/${name}`);
    if (st) bytes += st.size;
  }
  return bytes;
}

/** readParseAll lists `root`, reads and JSON.parses every state file in this thread; returns how many parsed. */
export function readParseAll(root: string): number {
  let parsed = 0;
  for (const name of listDirectory(root)) {
    const text = readIfPresent(`${root}/${name}`);
    if (text !== undefined && JSON.parse(text) !== null) parsed++;
  }
  return parsed;
}

// A file destroyed between the listing and the read is skipped, as runsc's
// List-then-Load does: the listing is a snapshot.
function lstatIfPresent(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
