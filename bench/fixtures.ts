import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The two real-format fixtures every generated state file is based on (see test/fixtures/runsc/FORMAT.md). */
export const FIXTURE_SANDBOX_ID = "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd";
export const FIXTURE_SUB_ID = "9579ebb61881f99b1104b8f83d8200c965f160b3311e18d6736036ce7e07b6e5";

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

/** fixtureDir returns test/fixtures/runsc, the fixtures kept in the repository. */
export function fixtureDir(): string {
  return join(repoRoot(), "test", "fixtures", "runsc");
}

/** readFixture returns the text of the state file `<cid>_sandbox:<FIXTURE_SANDBOX_ID>.state`. */
export function readFixture(cid: string): string {
  const path = join(fixtureDir(), `${cid}_sandbox:${FIXTURE_SANDBOX_ID}.state`);
  return readFileSync(path, "utf8");
}
