/**
 * The bytes of `runsc list` and `runsc state` that depend on the runsc
 * release: the `ociVersion` it prints (the runtime-spec version compiled into
 * the binary: 1.0.2-dev for Debian's 20221219, 1.2.1 for current releases)
 * and whether `state` ends with a newline (20221219 prints none).
 *
 * Which one to print, first match wins:
 *   1. `--runsc-format 20221219|current` on the command line;
 *   2. the environment variable RUNSC_INDEX_RUNSC_FORMAT (same values);
 *   3. the host's runsc: the first `runsc` on PATH is asked `runsc --version`
 *      once, and the answer cached in the root's own index directory
 *      `<root>/.runsc-index/` when it exists (never beside an `--index`
 *      elsewhere: nothing outside the root and the index is written), keyed by
 *      the binary's inode, size and mtime (an upgrade is noticed; a hit costs
 *      one stat);
 *   4. no runsc found: current.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { RunscIndexError } from "../errors.js";
import { createExclusive, openRegular } from "../native/safe-fs.js";
import { INDEX_DIR } from "../store/open-store.js";

export interface RunscFlavor {
  /** What `ociVersion` says in list --format=json and state. */
  readonly ociVersion: string;
  /** `runsc state` ends with a newline. */
  readonly stateNewline: boolean;
}

export const RUNSC_FORMATS = ["20221219", "current"] as const;
export type RunscFormat = (typeof RUNSC_FORMATS)[number];

export const FLAVORS: Readonly<Record<RunscFormat, RunscFlavor>> = {
  "20221219": { ociVersion: "1.0.2-dev", stateNewline: false },
  current: { ociVersion: "1.2.1", stateNewline: true },
};

export const RUNSC_FORMAT_ENV = "RUNSC_INDEX_RUNSC_FORMAT";
const CACHE_FILE = "runsc-version.json";

/**
 * runscFlavor decides what to print (see the module comment); `root` is
 * runsc's root, whose index directory holds the detection cache. Throws ERR_INVALID_ARGUMENT for an unknown
 * format in the flag or the environment.
 */
export function runscFlavor(flag: string | undefined, root: string): RunscFlavor {
  const chosen = flag ?? process.env[RUNSC_FORMAT_ENV];
  if (chosen !== undefined && chosen !== "") {
    if (!(RUNSC_FORMATS as readonly string[]).includes(chosen)) {
      const from = flag === undefined ? RUNSC_FORMAT_ENV : "--runsc-format";
      throw new RunscIndexError(
        "ERR_INVALID_ARGUMENT",
        `${from}: unknown runsc format "${chosen}" (expected ${RUNSC_FORMATS.join(" or ")})`,
      );
    }
    return FLAVORS[chosen as RunscFormat];
  }
  return detectedFlavor(root);
}

/** detectedFlavor asks the host's runsc (cached); current when there is none or it does not answer. */
function detectedFlavor(root: string): RunscFlavor {
  const binary = findOnPath("runsc");
  if (binary === undefined) return FLAVORS.current;
  const st = fs.statSync(binary);
  const key = `${binary}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const dir = path.join(root, INDEX_DIR);
  const cached = readCache(dir);
  if (cached?.key === key && cached.flavor !== undefined) return cached.flavor;
  const flavor = flavorOfVersion(askVersion(binary));
  writeCache(dir, { key, flavor });
  return flavor;
}

interface FlavorCache {
  readonly key?: string;
  readonly flavor?: RunscFlavor;
}

/** readCache: the cached answer, or undefined (none yet, unreadable, or not a regular file: never blocks on a FIFO). */
function readCache(dir: string): FlavorCache | undefined {
  try {
    const fd = openRegular("runsc version cache", path.join(dir, CACHE_FILE), fs.constants.O_RDONLY);
    if (fd === undefined) return undefined;
    try {
      return JSON.parse(fs.readFileSync(fd, "utf8")) as FlavorCache;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * writeCache replaces the cache by an exclusive temporary file and a rename,
 * only inside an index directory that exists (a readonly root or a missing
 * index: detect again next time).
 */
function writeCache(dir: string, cache: FlavorCache): void {
  if (!fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
  const temp = path.join(dir, `.${CACHE_FILE}.${process.pid}`);
  let fd: number;
  try {
    fd = createExclusive("runsc version cache", temp, 0o600);
  } catch {
    return; // something is at that name: never ours to remove
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(cache)}\n`);
    fs.closeSync(fd);
    fs.renameSync(temp, path.join(dir, CACHE_FILE));
  } catch {
    fs.rmSync(temp, { force: true }); // we created it; only a cache
  }
}

function askVersion(binary: string): string {
  // Required only here, when the cache misses: node:child_process is more modules than a lookup loads in all.
  const { execFileSync } = createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");
  try {
    return execFileSync(binary, ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
    });
  } catch {
    return "";
  }
}

/**
 * flavorOfVersion reads `runsc --version` ("runsc version ...\nspec: 1.0.2-dev"):
 * the spec line is the ociVersion; spec 1.0.x is the 2022 era, whose state
 * printed no newline. Anything unreadable is current.
 */
export function flavorOfVersion(text: string): RunscFlavor {
  const spec = /^spec: (\S+)$/m.exec(text)?.[1];
  if (spec === undefined) return FLAVORS.current;
  return { ociVersion: spec, stateNewline: !spec.startsWith("1.0.") };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
