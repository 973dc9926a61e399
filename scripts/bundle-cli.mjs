/**
 * Bundles the command line into one module, in place of tsc's
 * dist/src/cli/main.js (run by `npm run build`, after tsc).
 *
 * Why: Node 20 loads each ES module on its own (resolve, stat, read,
 * compile, link), about half a millisecond apiece; a `runsc-index find`
 * loads some fifty of ours, more than the lookup itself costs. One file
 * starts about 35 ms sooner (bench: `find`, `state`). What is imported
 * dynamically (commander's program, watch, export, ...) goes into chunks
 * loaded only when imported, with the packages they import.
 *
 * Packages (better-sqlite3, koffi, commander, ...) stay outside the bundle.
 * Each module's `import.meta.url` is rewritten to the URL of its own file
 * under dist/src, so worker threads, child processes and the migrations
 * folder are found beside the modules they belong to: those still load the
 * unbundled files. The library (`import "runsc-index"`) is tsc's output.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(repo, "dist", "src");
const main = path.join(dist, "cli", "main.js");
const BANNER = "// runsc-index command line, bundled by scripts/bundle-cli.mjs";

const text = fs.readFileSync(main, "utf8");
if (text.includes(BANNER)) {
  process.stderr.write(`${main} is already bundled: run tsc first (npm run build)\n`);
  process.exit(1);
}

/** Each module's own URL, relative to the bundle's: `new URL("../index/database.js", import.meta.url).href`. */
const ownUrl = {
  name: "own-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const relative = path.relative(path.dirname(main), args.path).split(path.sep).join("/");
      const own = `new URL(${JSON.stringify(relative.startsWith(".") ? relative : `./${relative}`)}, import.meta.url).href`;
      const source = fs.readFileSync(args.path, "utf8");
      return { contents: source.replaceAll("import.meta.url", own), loader: "js" };
    });
  },
};

// Chunks (code only some commands load) sit beside main.js, so one relative
// path serves every output file; those of an earlier build go first.
const CHUNK = /^main-chunk-[A-Z0-9]+\.js(\.map)?$/;
for (const name of fs.readdirSync(path.dirname(main))) {
  if (CHUNK.test(name)) fs.rmSync(path.join(path.dirname(main), name));
}

await build({
  entryPoints: [main],
  outdir: path.dirname(main),
  chunkNames: "main-chunk-[hash]",
  splitting: true,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  banner: { js: BANNER }, // esbuild keeps main.ts's #! line first
  plugins: [ownUrl],
  logLevel: "warning",
});
