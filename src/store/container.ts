import type { ContainerId, SandboxId } from "../ids/id.js";
import type { ContainerRow } from "../index/rows.js";
import { type Liveness, type LivenessCache, runscStatus, strictStatus } from "../liveness/liveness.js";
import type { StateDocument } from "../state/document.js";
import type { ContainerFields } from "../state/fields.js";
import { LIVE_STATUSES, type Status } from "../state/status.js";

/** What a liveness check says about a container; the same fields in Container and ContainerSummary. */
export interface CheckedStatus {
  /** The status runsc would report (liveness.ts), or the stored status with skipCheck. */
  readonly status: Status;
  /** The status as stored in the file. */
  readonly storedStatus: Status;
  /** Sandbox PID as runsc list and state print it: -1 unless `status` is created, running or paused. */
  readonly pid: number;
  /** With strictLiveness: `status`, or "stopped" when the sandbox process is not alive. Else undefined. */
  readonly strictStatus: Status | undefined;
  /** With strictLiveness: the sandbox process as the strict check sees it. Else undefined. */
  readonly liveness: Liveness | undefined;
}

/** A container loaded from its state file. */
export interface Container extends CheckedStatus {
  readonly containerId: ContainerId;
  readonly sandboxId: SandboxId;
  readonly fields: ContainerFields;
  /** The lossless document: change it and pass it to save(). */
  readonly document: StateDocument;
  /** Path of the state file. */
  readonly file: string;
}

/** A container as listed from the index (no document). */
export interface ContainerSummary extends CheckedStatus {
  readonly containerId: string;
  readonly sandboxId: string;
  readonly goferPid: number;
  readonly createdAt: string;
  readonly bundleDir: string;
  readonly owner: string;
  readonly isRoot: boolean;
  readonly podName: string;
  readonly podNamespace: string;
  /** Annotations as Go-encoded JSON with sorted keys ("{}" when none). */
  readonly annotationsJson: string;
}

/**
 * checkStatus applies runsc's check (unless skipCheck) and, when the cache
 * was made with `strict`, the strict one. `socketPath` is the container's
 * `sandbox.controlSocketPath` when known (undefined: the cache finds it).
 */
export function checkStatus(
  c: { containerId: string; sandboxId: string; status: Status; pid: number },
  socketPath: string | undefined,
  skipCheck: boolean,
  cache: LivenessCache,
): CheckedStatus {
  const status = skipCheck ? c.status : runscStatus(c, cache, socketPath);
  const liveness = cache.isStrict ? cache.strict(c.pid, c.sandboxId) : undefined;
  return {
    status,
    storedStatus: c.status,
    pid: LIVE_STATUSES.includes(status) ? c.pid : -1,
    strictStatus: liveness === undefined ? undefined : strictStatus(status, liveness),
    liveness,
  };
}

/**
 * summarize applies the checks to an index row. `cache` is one per listing
 * (one control connection per sandbox).
 */
export function summarize(
  row: ContainerRow & { status: Status },
  skipCheck: boolean,
  cache: LivenessCache,
): ContainerSummary {
  const ids = { containerId: row.containerId, sandboxId: row.sandboxId, status: row.status, pid: row.pid ?? 0 };
  const checked = checkStatus(ids, undefined, skipCheck, cache);
  // One literal, no spreads: spreading cost ~18 µs a row, most of a 100,000-row listing.
  return {
    containerId: row.containerId,
    sandboxId: row.sandboxId,
    status: checked.status,
    storedStatus: checked.storedStatus,
    pid: checked.pid,
    strictStatus: checked.strictStatus,
    liveness: checked.liveness,
    goferPid: row.goferPid ?? 0,
    createdAt: row.createdAt ?? "",
    bundleDir: row.bundleDir ?? "",
    owner: row.owner ?? "",
    isRoot: row.isRoot === 1,
    podName: row.podName ?? "",
    podNamespace: row.podNamespace ?? "",
    annotationsJson: row.annotations ?? "{}",
  };
}

/** containerOf describes a container read from (or written to) its file, checked unless skipCheck. */
export function containerOf(
  ids: { containerId: ContainerId; sandboxId: SandboxId },
  doc: StateDocument,
  file: string,
  skipCheck: boolean,
  cache: LivenessCache,
): Container {
  const f = doc.fields;
  const checked = checkStatus({ ...ids, status: f.storedStatus, pid: f.pid }, f.controlSocketPath, skipCheck, cache);
  return { ...ids, ...checked, fields: f, document: doc, file };
}
