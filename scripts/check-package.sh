#!/usr/bin/env bash
# Checks the package a user installs: `npm pack` (whose prepack builds dist/),
# install the tarball into an empty project (its dependencies come from the
# npm registry), then run `npx runsc-index --help`, import the library from
# an ES module, and type-check a consumer file with skipLibCheck false and
# only runsc-index installed (the repository's own tsc does the checking).
# Also: every source map in the package points at a file in the package.
#
# Usage: scripts/check-package.sh   (from anywhere; exits non-zero on the first failure)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/runsc-index-package-XXXXXX")"
trap 'rm -rf "$work"' EXIT
step() { printf '== %s\n' "$*"; }

step "npm pack"
cd "$repo"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
test -f "$tarball"

step "install $(basename "$tarball") into an empty project"
consumer="$work/consumer"
mkdir "$consumer"
cd "$consumer"
printf '{ "name": "consumer", "version": "1.0.0", "private": true, "type": "module" }\n' >package.json
npm install --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
pkg="$consumer/node_modules/runsc-index"

step "source maps point at files in the package (or carry the source)"
node - "$pkg" <<'EOF'
const fs = require("node:fs"), path = require("node:path");
const pkg = process.argv[2];
let maps = 0;
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".map")) {
      maps++;
      const map = JSON.parse(fs.readFileSync(p, "utf8"));
      map.sources.forEach((s, i) => {
        // The CLI bundle's map holds better-sqlite3's JavaScript itself (sourcesContent): no file to point at.
        if (typeof map.sourcesContent?.[i] === "string") return;
        const target = path.resolve(path.dirname(p), s);
        if (!fs.existsSync(target)) throw new Error(`${path.relative(pkg, p)} points at missing ${s}`);
      });
    }
  }
};
walk(pkg);
console.log(`${maps} source maps, every source present or carried`);
EOF

step "npx runsc-index --help"
npx --no-install runsc-index --help | grep -q "^Usage: runsc-index"
root="$work/root"
npx --no-install runsc-index generate "$root" --count 20 --json >/dev/null
npx --no-install runsc-index --root "$root" list --format json | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{if(JSON.parse(s).length!==20)process.exit(1)})'

step "import the library (ESM)"
cat >use.mjs <<EOF
import { openStore, RunscIndexError, STATUSES } from "runsc-index";
const store = openStore({ root: process.argv[2] });
try {
  await store.reconcile();
  const all = await store.list();
  if (all.length !== 20) throw new Error("expected 20 containers, got " + all.length);
  if (!(STATUSES.length > 0 && typeof RunscIndexError === "function")) throw new Error("exports missing");
  console.log("listed " + all.length + " containers through the library");
} finally {
  store.close();
}
EOF
node use.mjs "$root"

step "type-check a consumer with skipLibCheck false"
cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true,
    "types": []
  },
  "files": ["use.ts"]
}
EOF
cat >use.ts <<'EOF'
import { type Container, type ContainerSummary, openStore, RunscIndexError, type Store } from "runsc-index";

export async function firstRunning(root: string): Promise<string | undefined> {
  const store: Store = openStore({ root, readonly: true });
  try {
    const rows: ContainerSummary[] = await store.list({ status: "running" });
    const first = rows[0];
    if (first === undefined) return undefined;
    const c: Container = await store.load(first.containerId);
    return c.containerId;
  } catch (e) {
    if (e instanceof RunscIndexError && e.code === "ERR_NOT_FOUND") return undefined;
    throw e;
  } finally {
    store.close();
  }
}
EOF
"$repo/node_modules/.bin/tsc" -p tsconfig.json
step "ok: the package installs, runs, imports and type-checks"
