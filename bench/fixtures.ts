import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * repoRoot returns the nearest directory at or above `from` holding package.json.
 * Walking up (rather than a fixed "../") is what lets the same code run from
 * bench/ under tsx and from dist/bench/ after tsc.
 */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`finding repo root from "${from}": no package.json above it`);
    dir = parent;
  }
  return dir;
}
