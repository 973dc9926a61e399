/**
 * The one home of better-sqlite3's constructor. It is loaded with require
 * rather than import: an ESM import of a CommonJS package first scans its
 * source for named exports (cjs-module-lexer), some milliseconds of every
 * command's start; the bundled CLI (scripts/bundle-cli.mjs) takes this
 * require into its bundle.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";

const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

let addonFile: string | undefined;

/**
 * nativeAddonFile is the file of better-sqlite3's compiled part, found once:
 * the package's build/Release as a rule. Left to itself better-sqlite3 asks
 * the `bindings` package, which works out the package's folder from a stack
 * trace (wrong inside the bundled CLI) and tries a dozen paths (~3 ms of a
 * start); told the folder, `bindings` still finds any other build.
 */
function nativeAddonFile(): string {
  if (addonFile !== undefined) return addonFile;
  const local = createRequire(import.meta.url);
  const root = path.dirname(local.resolve("better-sqlite3/package.json"));
  const release = path.join(root, "build", "Release", "better_sqlite3.node");
  addonFile = fs.existsSync(release)
    ? release
    : (local("bindings")({ bindings: "better_sqlite3.node", module_root: root, path: true }) as string);
  return addonFile;
}

/** openDatabase opens a SQLite database: a file, ":memory:", or a serialized image (a Buffer). */
export function openDatabase(source: string | Buffer, options: BetterSqlite3.Options = {}): BetterSqlite3.Database {
  return new Driver(source, { ...options, nativeBinding: nativeAddonFile() });
}
