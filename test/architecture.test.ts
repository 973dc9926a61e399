/**
 * The layers of src/ (README, "Development"): imports point one way, from
 * the CLI down to ids/native/errors, and no module imports itself through
 * a cycle. Parses every import (static, re-export, dynamic, type-only).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../src");

/** Rank of each top-level folder (or file) of src/: a module may import only ranks <= its own. */
const LAYERS: Record<string, number> = {
  "index.ts": 5,
  cli: 5,
  store: 4,
  freshness: 3,
  generate: 3,
  export: 3,
  metrics: 3,
  index: 3,
  reconcile: 3,
  watch: 3,
  state: 2,
  lock: 2,
  liveness: 2,
  ids: 1,
  native: 1,
  "errors.ts": 1,
  "lazy.ts": 1,
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? sourceFiles(p) : d.name.endsWith(".ts") ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** importsOf returns the src/ files a file imports (relative specifiers, .js mapped to .ts). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith(".")) continue;
    out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
  }
  return out;
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe("architecture", () => {
  it("every top-level part of src/ has a layer", () => {
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) expect(LAYERS[layerOf(f)], path.relative(SRC, f)).toBeDefined();
  });

  it("every import resolves to a file in src/", () => {
    for (const [f, deps] of graph) {
      for (const d of deps) expect(fs.existsSync(d), `${path.relative(SRC, f)} imports ${d}`).toBe(true);
    }
  });

  it("no import points up a layer", () => {
    const upward: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        if (LAYERS[layerOf(d)]! > LAYERS[layerOf(f)]!) {
          upward.push(`${path.relative(SRC, f)} -> ${path.relative(SRC, d)}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it("no module imports itself through a cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "active" | "done">();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, "active");
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === "active") {
          cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(SRC, x)).join(" -> "));
        } else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it("the checks catch an upward import and a cycle", () => {
    // The rules themselves, on a made-up graph: store -> cli is upward; a -> b -> a is a cycle.
    expect(LAYERS[layerOf(path.join(SRC, "cli/x.ts"))]! > LAYERS[layerOf(path.join(SRC, "store/y.ts"))]!).toBe(true);
    const text = 'import { a } from "./a.js";\nexport type { B } from "../b.js";\nconst c = await import("./c.js");';
    const tmp = path.join(SRC, "store", "__probe__.ts");
    const specs = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
    expect(specs).toEqual(["./a.js", "../b.js", "./c.js"]);
    expect(path.resolve(path.dirname(tmp), "../b.js").replace(/\.js$/, ".ts")).toBe(path.join(SRC, "b.ts"));
  });
});
