import { explainLookup } from "../lookup.js";
import { type Io, ociStateIndented } from "../output.js";
import { runscFlavor } from "../runsc-flavor.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface StateOptions extends GlobalOptions {
  /** A container ID or a prefix of one (an exact ID wins). */
  readonly id: string;
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
  /** Add the strict check's answer ("strictStatus", "liveness") after runsc's fields. */
  readonly strictLiveness?: boolean | undefined;
}

/**
 * state prints what `runsc state ID` prints: the container's OCI state,
 * indented by two spaces, with or without a final newline as the runsc
 * release does (runsc-flavor.ts). It loads the file under its lock and
 * applies runsc's liveness check. Throws ERR_INVALID_ID, ERR_NOT_FOUND,
 * ERR_AMBIGUOUS_ID, ERR_LOCK_TIMEOUT, ERR_CORRUPT_STATE, ERR_INVALID_ARGUMENT.
 */
export async function state(options: StateOptions, io: Io): Promise<void> {
  const { c, flavor } = await withStore(options, { inotify: false, io }, async (store) => ({
    c: await explainLookup(store, options.sandbox, () =>
      store.load(options.id, { sandbox: options.sandbox, strictLiveness: options.strictLiveness === true }),
    ),
    flavor: runscFlavor(options.runscFormat, store.root),
  }));
  const text = ociStateIndented(
    { id: c.containerId, status: c.status, pid: c.pid, bundle: c.fields.bundleDir },
    c.fields.annotations,
    flavor,
  );
  if (!options.strictLiveness) {
    io.out(text);
    return;
  }
  const end = text.lastIndexOf("}");
  const extra = `,\n  "strictStatus": ${JSON.stringify(c.strictStatus)},\n  "liveness": ${JSON.stringify(c.liveness)}\n`;
  io.out(`${text.slice(0, end).trimEnd()}${extra}${text.slice(end)}`);
}
