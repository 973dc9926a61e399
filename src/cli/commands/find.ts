import { explainLookup } from "../lookup.js";
import type { Io } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface FindOptions extends GlobalOptions {
  /** A container ID or a prefix of one. */
  readonly prefix: string;
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
  /** Print {"containerId","sandboxId"} instead of the container ID. */
  readonly json?: boolean | undefined;
}

/**
 * find prints the container ID a prefix names (an exact ID wins). It reads
 * the index only: no state file is opened. Throws ERR_INVALID_ID,
 * ERR_NOT_FOUND, ERR_AMBIGUOUS_ID.
 */
export async function find(options: FindOptions, io: Io): Promise<void> {
  const { containerId, sandboxId } = await withStore(options, { inotify: false, io }, (store) =>
    explainLookup(store, options.sandbox, () => store.resolve(options.prefix, { sandbox: options.sandbox })),
  );
  io.out(options.json ? `${JSON.stringify({ containerId, sandboxId })}\n` : `${containerId}\n`);
}
