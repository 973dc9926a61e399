/**
 * Slow (minutes: npm pack, then npm install from the registry, which builds
 * better-sqlite3 when no prebuilt binary can be downloaded). Runs when
 * RUNSC_INDEX_SLOW=1; CI runs scripts/check-package.sh itself.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "../cli/cli.js";

const SLOW = process.env.RUNSC_INDEX_SLOW === "1";

describe.runIf(SLOW)("the installable package (slow)", () => {
  test(
    "packs, installs into an empty project, runs, imports and type-checks with skipLibCheck false",
    () => {
      const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "check-package.sh")], {
        encoding: "utf8",
        timeout: 20 * 60_000,
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("every source present");
      expect(r.stdout).toContain("listed 20 containers through the library");
      expect(r.stdout).toContain("ok: the package installs, runs, imports and type-checks");
    },
    20 * 60_000,
  );
});
