/**
 * Lookup errors as the command line explains them: a not-found error names
 * the --sandbox filter it was under, and an ambiguity error carries the
 * status of the candidates a terminal lists (report.ts prints them).
 */

import { RunscIndexError } from "../errors.js";
import { AmbiguousIdError } from "../ids/ambiguous-id-error.js";
import { type IdPair, idPairKey } from "../ids/id.js";
import type { Store } from "../store/store.js";

/** Candidates listed on a terminal, before "and N more". */
export const CANDIDATES_LISTED = 10;

const statusesByError = new WeakMap<object, ReadonlyMap<string, string>>();

/** candidateStatuses returns the statuses looked up for an ambiguity error's first candidates, if any. */
export function candidateStatuses(e: unknown): ReadonlyMap<string, string> | undefined {
  return typeof e === "object" && e !== null ? statusesByError.get(e) : undefined;
}

/**
 * explainLookup returns what `lookup` returns. Its ERR_NOT_FOUND under a
 * `sandbox` filter is rethrown naming the filter; its ERR_AMBIGUOUS_ID is
 * rethrown with the statuses (after the liveness check) of the first
 * candidates recorded. Throws what `lookup` throws.
 */
export async function explainLookup<T>(
  store: Store,
  sandbox: string | undefined,
  lookup: () => T | Promise<T>,
): Promise<T> {
  try {
    return await lookup();
  } catch (e) {
    if (e instanceof AmbiguousIdError) {
      statusesByError.set(e, await statusesOf(store, e.candidates.slice(0, CANDIDATES_LISTED)));
    } else if (sandbox !== undefined && e instanceof RunscIndexError && e.code === "ERR_NOT_FOUND") {
      throw new RunscIndexError("ERR_NOT_FOUND", `${e.message} in sandbox "${sandbox}" (--sandbox)`, { cause: e });
    }
    throw e;
  }
}

/** statusesOf lists the candidates' sandboxes (index contents, liveness checked); a failure leaves statuses out. */
async function statusesOf(store: Store, candidates: readonly IdPair[]): Promise<ReadonlyMap<string, string>> {
  const statuses = new Map<string, string>();
  try {
    for (const sandbox of new Set(candidates.map((c) => c.sandboxId))) {
      for (const c of await store.list({ sandbox, fresh: false })) statuses.set(idPairKey(c), c.status);
    }
  } catch {
    // The error being explained matters more than its statuses.
  }
  return statuses;
}
