import { notFound } from "../errors.js";
import { AmbiguousIdError } from "../ids/ambiguous-id-error.js";
import type { IdPair } from "../ids/id.js";
import type { NameIndex } from "../index/name-index.js";

/** Candidates fetched for an ambiguity error; the error says "and N more" past its list. */
const MAX_CANDIDATES = 100_000;

/**
 * resolveIn returns the one container `prefix` names in `index`: an exact
 * container ID wins over longer IDs it prefixes (runsc calls that ambiguous;
 * gVisor PR #13288 asks for this); else the only ID with that prefix.
 * The same container ID in two sandboxes is ambiguous unless `sandboxId` is given.
 * Throws ERR_NOT_FOUND or ERR_AMBIGUOUS_ID (with every candidate).
 * Precondition: prefix and sandboxId were validated (parsePrefix, parseSandboxId).
 */
export function resolveIn(index: NameIndex, prefix: string, sandboxId?: string): IdPair {
  const firstTwo = index.withPrefix(prefix, sandboxId, 2);
  if (firstTwo.length === 1) return firstTwo[0]!;
  if (firstTwo.length === 0) throw notFound(prefix);
  const exact = index.exact(prefix, sandboxId);
  if (exact.length === 1) return exact[0]!;
  throw new AmbiguousIdError(prefix, exact.length > 1 ? exact : index.withPrefix(prefix, sandboxId, MAX_CANDIDATES));
}
