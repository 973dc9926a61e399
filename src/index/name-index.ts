import type { IdPair } from "../ids/id.js";

/**
 * NameIndex is what resolve needs from an index: which (container, sandbox)
 * pairs exist. SqliteIndex answers from its primary key; ScanIndex lists the
 * directory as runsc does (the reference in tests and the bench baseline).
 * Candidates come sorted by container ID, then sandbox ID.
 */
export interface NameIndex {
  /** Pairs whose container ID starts with `prefix`, at most `limit` of them. */
  withPrefix(prefix: string, sandboxId: string | undefined, limit: number): IdPair[];
  /** Pairs whose container ID is exactly `containerId`. */
  exact(containerId: string, sandboxId: string | undefined): IdPair[];
}

/** nextPrefix is the smallest string greater than every string starting with p (IDs are ASCII). */
export function nextPrefix(p: string): string {
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}
