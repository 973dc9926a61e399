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
 *      once, and the answer cached beside the index, keyed by the binary's
 *      inode, size and mtime (an upgrade is noticed; a hit costs one stat);
 *   4. no runsc found: current.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { RunscIndexError } from "../errors.js";

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
 * runscFlavor decides what to print (see the module comment); `indexPath`
 * locates the detection cache. Throws ERR_INVALID_ARGUMENT for an unknown
 * format in the flag or the environment.
 */
export function runscFlavor(flag: string | undefined, indexPath: string): RunscFlavor {
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
  return detectedFlavor(indexPath);
}

/** detectedFlavor asks the host's runsc (cached); current when there is none or it does not answer. */
function detectedFlavor(indexPath: string): RunscFlavor {
  const binary = findOnPath("runsc");
  if (binary === undefined) return FLAVORS.current;
  const st = fs.statSync(binary);
  const key = `${binary}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const cacheFile = path.join(path.dirname(indexPath), CACHE_FILE);
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key?: string; flavor?: RunscFlavor };
    if (cached.key === key && cached.flavor !== undefined) return cached.flavor;
  } catch {
    // No cache yet, or unreadable: ask the binary.
  }
  const flavor = flavorOfVersion(askVersion(binary));
  try {
    fs.writeFileSync(cacheFile, `${JSON.stringify({ key, flavor })}\n`);
  } catch {
    // The index directory may not exist or be writable (a readonly root): detect again next time.
  }
  return flavor;
}

function askVersion(binary: string): string {
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
