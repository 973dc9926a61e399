/**
 * Bundles the command line into one CommonJS file with V8's code cache for
 * it (run by `npm run build`, after tsc):
 *
 *   dist/src/cli/main-bundle.cjs        every module the CLI imports from src
 *   dist/src/cli/main-bundle.cjs.cache  V8's code cache of that file
 *   dist/src/cli/main.cjs               the executable: a loader of the two
 *
 * and removes tsc's dist/src/cli/main.js.
 *
 * Why: a `runsc-index find` is measured against `node -e ''`. Node 20 loads
 * each ES module on its own (resolve, package scope, read, compile, link),
 * about half a millisecond apiece; one CommonJS file needs none of that, and
 * the code cache spares V8 compiling ~270 KB of source and the functions a
 * lookup runs (~15 ms). Node 22's module.enableCompileCache would keep such a
 * cache for us; Node 20 has vm.Script's cachedData, so the loader compiles
 * the bundle itself. A cache that V8 rejects (another Node version, other V8
 * flags) costs one ordinary compile and nothing else.
 *
 * Inside the bundle a module runs when first imported (esbuild's lazy module
 * init), so a command still evaluates only what it uses. Whitespace and
 * syntax are minified (a quarter less to read; names stay, for stack
 * traces), and the map points at the TypeScript sources. Packages (koffi,
 * commander, pg, ...) stay outside, but for better-sqlite3's JavaScript (its
 * addon is loaded by path, see sqlite-driver.ts). Default imports of
 * Node's builtins become plain require calls: esbuild would otherwise copy
 * every export of node:fs into a new object at each import site (~5 ms a
 * start). Each module's `import.meta.url` is rewritten to the URL of its own
 * file under dist/src, so worker threads, child processes and the migrations
 * folder are found beside the modules they belong to: those still load tsc's
 * unbundled files. The library (`import "runsc-index"`) is tsc's output.
 */

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(repo, "dist", "src");
const cli = path.join(dist, "cli");
const main = path.join(cli, "main.js");
const bundle = path.join(cli, "main-bundle.cjs");
const loader = path.join(cli, "main.cjs");
const LOADER_BANNER = "// runsc-index command line: the loader of main-bundle.cjs, written by scripts/bundle-cli.mjs";

/** The function a CommonJS module's text becomes; the cache is made of, and used for, exactly this text. */
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const WRAP_TAIL = "\n})";

if (!fs.existsSync(main)) {
  process.stderr.write(`${main} is missing (bundled already?): run tsc first (npm run build)\n`);
  process.exit(1);
}

/** The URL of a file named relative to the bundle's folder; defined at the bundle's top, where no module's `require` shadows Node's. */
const MODULE_URL = "__moduleUrl";
const MODULE_URL_DEFINITION = `var ${MODULE_URL} = (relative) => new URL(relative, require("node:url").pathToFileURL(__filename)).href;`;

/** A module's import.meta, in terms of the bundle's own __filename. */
function rewriteImportMeta(source, file) {
  const relative = JSON.stringify(path.relative(cli, file).split(path.sep).join("/"));
  const ownUrl = `${MODULE_URL}(${relative})`;
  // import.meta.resolve serves only the TypeScript sources (tests run through tsx); a bundled module is .js.
  const noResolve = `((s) => { throw new Error(\`import.meta.resolve(\${s}) in the bundled CLI\`); })`;
  return source.replaceAll("import.meta.url", ownUrl).replaceAll("import.meta.resolve", noResolve);
}

/**
 * Plain require calls, which esbuild follows: `import fs from "node:fs";` →
 * `const fs = require("node:fs");` (a builtin's default export is its
 * exports object), and `createRequire(import.meta.url)("x")` → `require("x")`.
 */
function plainRequires(source) {
  return source
    .replace(/^import (\w+) from ("node:[\w/]+");$/gm, "const $1 = require($2);")
    .replaceAll("createRequire(import.meta.url)(", "require(");
}

/** Packages stay outside the bundle, but for better-sqlite3's JavaScript (its addon and `bindings` stay out). */
const packagesOutside = {
  name: "packages-outside",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path === "better-sqlite3" ? undefined : { path: args.path, external: true },
    );
  },
};

const fromDist = {
  name: "from-dist",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const source = fs.readFileSync(args.path, "utf8");
      return { contents: rewriteImportMeta(plainRequires(source), args.path), loader: "js" };
    });
  },
};

await build({
  entryPoints: [main],
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "linked",
  // import() of a package becomes require(): code compiled from a cache loses vm's dynamic import callback.
  supported: { "dynamic-import": false },
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [fromDist, packagesOutside],
  logLevel: "warning",
});

// The #! line would not parse inside WRAP_HEAD; __moduleUrl goes after "use strict", on its line (the map's lines stay).
const body = fs
  .readFileSync(bundle, "utf8")
  .replace(/^#!.*/, "")
  .replace(/^"use strict";/m, `"use strict"; ${MODULE_URL_DEFINITION}`);
if (!body.includes(MODULE_URL_DEFINITION)) throw new Error(`no "use strict" line in ${bundle}`);
// esbuild writes ASCII (charset "ascii", its default): the loader reads it as latin1, which needs no decoding.
if (!/^[\x00-\x7f]*$/.test(body)) throw new Error(`${bundle} is not ASCII`);
fs.writeFileSync(bundle, body);
fs.rmSync(`${bundle}.cache`, { force: true });

fs.writeFileSync(
  loader,
  `#!/usr/bin/env node
${LOADER_BANNER}
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const file = join(__dirname, "main-bundle.cjs");
let cachedData;
try {
  cachedData = readFileSync(\`\${file}.cache\`);
} catch {
  // compiled without the cache: slower, the same program
}
const source = ${JSON.stringify(WRAP_HEAD)} + readFileSync(file, "latin1") + ${JSON.stringify(WRAP_TAIL)};
new Script(source, { filename: file, cachedData }).runInThisContext()(module.exports, require, module, file, __dirname);
`,
  { mode: 0o755 },
);
// tsc's unbundled main.js would be a second, slower way in.
for (const name of ["main.js", "main.js.map", "main.d.ts"]) fs.rmSync(path.join(cli, name), { force: true });

writeWarmCache();

/**
 * writeWarmCache makes the code cache in a child process that compiles the
 * bundle as the loader does and runs `state ID` on a small generated root: a
 * cache taken after a run holds the functions the run compiled too, not only
 * the top level (~5 ms more off each start than a cache of the bare compile).
 */
function writeWarmCache() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "runsc-index-warm-"));
  try {
    const root = path.join(scratch, "root");
    const cliRun = (...args) => {
      const r = spawnSync(process.execPath, [loader, ...args], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`runsc-index ${args.join(" ")} failed while warming: ${r.stderr}`);
    };
    cliRun("generate", root, "--count", "20");
    cliRun("--root", root, "reconcile");
    const state = fs.readdirSync(root).find((name) => name.endsWith(".state"));
    const id = state.slice(0, state.indexOf("_sandbox:"));
    const warm = `
      const fs = require("node:fs"), vm = require("node:vm"), { createRequire } = require("node:module");
      const [file, root, id] = process.argv.slice(1);
      const source = ${JSON.stringify(WRAP_HEAD)} + fs.readFileSync(file, "latin1") + ${JSON.stringify(WRAP_TAIL)};
      const script = new vm.Script(source, { filename: file });
      process.argv = [process.argv[0], ${JSON.stringify(loader)}, "--root", root, "state", id];
      process.once("beforeExit", () => fs.writeFileSync(file + ".cache", script.createCachedData()));
      const module = { exports: {} };
      script.runInThisContext()(module.exports, createRequire(file), module, file, ${JSON.stringify(cli)});`;
    const r = spawnSync(process.execPath, ["-e", warm, bundle, root, id], { encoding: "utf8" });
    if (r.status !== 0 || !fs.existsSync(`${bundle}.cache`))
      throw new Error(`warming the code cache failed: ${r.stderr}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
