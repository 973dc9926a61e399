/**
 * The versions the crash suite writes: each is whole and self-checking, so
 * a state file that mixes two writes, or was cut short, is caught.
 */
import crypto from "node:crypto";

export interface CrashVersion {
  readonly counter: number;
  readonly check: string;
  readonly pad: string;
}

/** crashVersion is version n of container id: a pad of 8-64 KiB of one digit, and a hash over all of it. */
export function crashVersion(id: string, n: number): CrashVersion {
  const pad = String(n % 10).repeat(8192 + ((n * 7919) % 57_344));
  const check = crypto.createHash("sha256").update(`${id}:${n}:${pad.length}`).digest("hex").slice(0, 16);
  return { counter: n, check, pad };
}

/** crashDocProblem says what is wrong with a parsed crash-suite document, or undefined when it is one whole version. */
export function crashDocProblem(
  id: string,
  doc: { id?: unknown; counter?: unknown; check?: unknown; pad?: unknown },
): string | undefined {
  if (doc.id !== id) return `id is ${String(doc.id)}`;
  if (typeof doc.counter !== "number" || !Number.isSafeInteger(doc.counter)) return `counter is ${String(doc.counter)}`;
  const want = crashVersion(id, doc.counter);
  if (doc.check !== want.check) return `check does not match counter ${doc.counter}`;
  if (doc.pad !== want.pad) return `pad does not match counter ${doc.counter}`;
  return undefined;
}
