import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * Cleanup of what the harness leaves behind when it stops early: temporary
 * directories (generated roots, indexes, profiles) and child processes still
 * running. run.ts removes everything in a finally block too; this also covers
 * SIGINT/SIGTERM, which skip finally blocks.
 */
const dirs = new Set<string>();
const children = new Set<ChildProcess>();

/** trackDir registers a directory to remove at exit; returns it. */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

/** trackChild registers a running child to SIGKILL at exit; it is forgotten when it exits. */
export function trackChild<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** cleanupNow kills tracked children and removes tracked directories. Safe to call twice. */
export function cleanupNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** installSignalCleanup makes SIGINT and SIGTERM clean up, then exit 130/143 as a shell would report them. */
export function installSignalCleanup(): void {
  for (const [signal, status] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: removing temporary files and stopping children\n`);
      cleanupNow();
      process.exit(status);
    });
  }
}
