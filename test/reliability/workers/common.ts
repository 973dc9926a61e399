/**
 * Helpers for worker scripts (run as `node --import tsx <script>`): wait for
 * the parent's start signal, and fail loudly with one line on stderr.
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** waitForFile resolves once `file` exists: the parent's "go" for every worker at once. */
export async function waitForFile(file: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`start signal ${file} never appeared`);
    await sleep(2);
  }
}

/** fail prints what went wrong and exits 1: the parent shows stderr in its assertion. */
export function fail(what: string, e?: unknown): never {
  const detail = e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e ?? "");
  process.stderr.write(`${what}${detail ? `: ${detail}` : ""}\n`);
  process.exit(1);
}

/** errorCode is the `code` of a RunscIndexError (or any error), else undefined. */
export function errorCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}
