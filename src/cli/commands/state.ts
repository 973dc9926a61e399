import { explainLookup } from "../lookup.js";
import { type Io, ociStateIndented } from "../output.js";
import { type GlobalOptions, withStore } from "./open.js";

export interface StateOptions extends GlobalOptions {
  /** A container ID or a prefix of one (an exact ID wins). */
  readonly id: string;
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
}

/** The statuses in which runsc's SandboxPid reports the sandbox PID; -1 otherwise. */
const PID_STATUSES = new Set(["created", "running", "paused"]);

/**
 * state prints what `runsc state ID` prints: the container's OCI state,
 * indented by two spaces, plus a newline. It loads the file under its lock
 * and applies the liveness check. Throws ERR_INVALID_ID, ERR_NOT_FOUND,
 * ERR_AMBIGUOUS_ID, ERR_LOCK_TIMEOUT, ERR_CORRUPT_STATE.
 */
export async function state(options: StateOptions, io: Io): Promise<void> {
  const c = await withStore(options, { inotify: false }, (store) =>
    explainLookup(store, options.sandbox, () => store.load(options.id, { sandbox: options.sandbox })),
  );
  const pid = PID_STATUSES.has(c.status) ? c.fields.pid : -1;
  io.out(
    ociStateIndented({ id: c.containerId, status: c.status, pid, bundle: c.fields.bundleDir }, c.fields.annotations),
  );
}
