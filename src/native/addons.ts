/**
 * The project's N-API addons (native/*.c), which node-gyp builds into
 * build/Release at `npm ci` or install. Each is a fast path: where one was
 * not built (no compiler), its caller does the same work another way.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** build/Release from this module: the TypeScript source sits two folders below the package root, tsc's output three. */
const RELEASE_PLACES = ["../../build/Release/", "../../../build/Release/"];

/** loadAddon loads build/Release/<name>.node; null when it was not built. */
export function loadAddon(name: string): unknown {
  for (const place of RELEASE_PLACES) {
    const file = fileURLToPath(new URL(`${place}${name}.node`, import.meta.url));
    if (fs.existsSync(file)) return createRequire(import.meta.url)(file);
  }
  return null;
}
