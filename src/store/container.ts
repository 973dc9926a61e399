import type { ContainerId, SandboxId } from "../ids/id.js";
import type { ContainerRow } from "../index/rows.js";
import { checkedStatus, type Liveness } from "../liveness/liveness.js";
import type { StateDocument } from "../state/document.js";
import type { ContainerFields } from "../state/fields.js";
import { LIVE_STATUSES, type Status } from "../state/status.js";

/** A container loaded from its state file. */
export interface Container {
  readonly containerId: ContainerId;
  readonly sandboxId: SandboxId;
  /** The status runsc would report: stored status, or "stopped" when the sandbox is dead (unless skipCheck). */
  readonly status: Status;
  /** How the liveness check went; undefined when skipped or not applicable. */
  readonly liveness: Liveness | undefined;
  readonly fields: ContainerFields;
  /** The lossless document: change it and pass it to save(). */
  readonly document: StateDocument;
  /** Path of the state file. */
  readonly file: string;
}

/** A container as listed from the index (no document). */
export interface ContainerSummary {
  readonly containerId: string;
  readonly sandboxId: string;
  readonly status: Status;
  readonly storedStatus: Status;
  readonly liveness: Liveness | undefined;
  /** Sandbox PID as runsc list prints it: -1 unless created, running or paused. */
  readonly pid: number;
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

/** summarize applies the liveness check to an index row; cache shares /proc reads within one listing. */
export function summarize(
  row: ContainerRow & { status: Status },
  rootCreatedAt: string,
  skipCheck: boolean,
  cache: Map<string, Liveness>,
): ContainerSummary {
  const checked = skipCheck
    ? { status: row.status, liveness: undefined }
    : checkedStatus({ status: row.status, pid: row.pid ?? 0, startTime: row.startTime ?? "", rootCreatedAt }, cache);
  const status = checked.status as Status;
  return {
    containerId: row.containerId,
    sandboxId: row.sandboxId,
    status,
    storedStatus: row.status,
    liveness: checked.liveness,
    pid: LIVE_STATUSES.includes(status) ? (row.pid ?? 0) : -1,
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

/** containerOf describes a container read from (or written to) its file; the liveness check unless skipCheck. */
export function containerOf(
  ids: { containerId: ContainerId; sandboxId: SandboxId },
  doc: StateDocument,
  file: string,
  skipCheck: boolean,
): Container {
  const f = doc.fields;
  const checked = skipCheck
    ? { status: f.storedStatus, liveness: undefined }
    : checkedStatus({ status: f.storedStatus, pid: f.pid, startTime: f.startTime, rootCreatedAt: f.createdAt });
  return { ...ids, status: checked.status as Status, liveness: checked.liveness, fields: f, document: doc, file };
}
