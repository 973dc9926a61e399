import { encodeGoJsonIndent } from "../../state/go-json.js";
import { explainLookup } from "../lookup.js";
import type { Io } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface ShowOptions extends GlobalOptions {
  /** A container ID or a prefix of one (an exact ID wins). */
  readonly id: string;
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
  /** Indent by two spaces (Go's json.MarshalIndent) instead of the stored compact form. */
  readonly pretty?: boolean | undefined;
}

/**
 * show prints the container's state file as stored: compact Go-encoded JSON
 * (byte-identical to what runsc wrote; key order, unknown fields and big
 * integers kept) plus a newline. The stored status is shown: no liveness
 * check. Throws ERR_INVALID_ID, ERR_NOT_FOUND, ERR_AMBIGUOUS_ID,
 * ERR_LOCK_TIMEOUT, ERR_CORRUPT_STATE.
 */
export async function show(options: ShowOptions, io: Io): Promise<void> {
  const c = await withStore(options, { inotify: false, io }, (store) =>
    explainLookup(store, options.sandbox, () => store.load(options.id, { sandbox: options.sandbox, skipCheck: true })),
  );
  const doc = c.document;
  io.out(`${options.pretty ? encodeGoJsonIndent(doc.root, "  ") : doc.encode()}\n`);
}
