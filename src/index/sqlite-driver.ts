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
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";

const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

let addonFile: string | undefined;

/** The addon where npm puts it for the repository and a global install: this package's own node_modules. */
const OWN_RELEASE_BUILD = new URL(
  "../../../node_modules/better-sqlite3/build/Release/better_sqlite3.node",
  import.meta.url,
);

/** nativeAddonFile is findAddonFile's answer, found once per process. */
function nativeAddonFile(): string {
  addonFile ??= findAddonFile();
  return addonFile;
}

/**
 * findAddonFile returns the file of better-sqlite3's compiled part: the
 * package's build/Release as a rule. Left to itself better-sqlite3 asks
 * the `bindings` package, which works out the package's folder from a stack
 * trace (wrong inside the bundled CLI) and tries a dozen paths (~3 ms of a
 * start); told the folder, `bindings` still finds any other build. The
 * first place looked is the first Node's resolution would find it in
 * (dist/src/index/node_modules and the like never exist), without the ~1 ms
 * the resolver takes to start.
 */
function findAddonFile(): string {
  const own = fileURLToPath(OWN_RELEASE_BUILD);
  if (fs.existsSync(own)) return own;
  const local = createRequire(import.meta.url);
  const root = path.dirname(local.resolve("better-sqlite3/package.json"));
  const release = path.join(root, "build", "Release", "better_sqlite3.node");
  if (fs.existsSync(release)) return release;
  return local("bindings")({ bindings: "better_sqlite3.node", module_root: root, path: true }) as string;
}

/** openDatabase opens a SQLite database: a file, ":memory:", or a serialized image (a Buffer). */
export function openDatabase(source: string | Buffer, options: BetterSqlite3.Options = {}): BetterSqlite3.Database {
  return new Driver(source, { ...options, nativeBinding: nativeAddonFile() });
}
