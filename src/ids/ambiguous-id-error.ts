import { RunscIndexError } from "../errors.js";
import type { IdPair } from "./id.js";

/** How many candidates an ambiguity message spells out before "and N more". */
const CANDIDATES_SHOWN = 10;

export class AmbiguousIdError extends RunscIndexError {
  readonly candidates: readonly IdPair[];

  constructor(prefix: string, candidates: readonly IdPair[]) {
    const shown = candidates.slice(0, CANDIDATES_SHOWN).map((c) => `${c.containerId} (sandbox ${c.sandboxId})`);
    const more = candidates.length - shown.length;
    const list = more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
    super(
      "ERR_AMBIGUOUS_ID",
      `id "${prefix}" is ambiguous and could refer to ${candidates.length} containers: ${list}`,
    );
    this.name = "AmbiguousIdError";
    this.candidates = candidates;
  }
}
