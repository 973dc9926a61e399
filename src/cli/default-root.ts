import path from "node:path";

/**
 * defaultRoot is runsc's default --root (DefaultRootDir in runsc/config/flags.go):
 * `$XDG_RUNTIME_DIR/runsc` when XDG_RUNTIME_DIR is set and non-empty, else /var/run/runsc.
 */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, "runsc") : "/var/run/runsc";
}
