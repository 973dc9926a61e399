/** runsc-index: the public surface. */
export {
  AmbiguousIdError,
  type Candidate,
  CorruptStateError,
  ERROR_CODES,
  type ErrorCode,
  LockTimeoutError,
  RunscIndexError,
} from "./errors.js";
export type { ContainerId, SandboxId } from "./ids/id.js";
export { parseContainerId, parseSandboxId } from "./ids/id.js";
export type { QueryParams, QueryResult } from "./index/readonly-query.js";
export type { Liveness } from "./liveness/liveness.js";
export type { ReconcileOptions, ReconcileReport } from "./reconcile/reconcile.js";
export { type DocumentPath, StateDocument } from "./state/document.js";
export type { ContainerFields } from "./state/fields.js";
export { JsonNumber, type JsonObject, type JsonValue } from "./state/go-json.js";
export { STATUSES, type Status } from "./state/status.js";
export type { Container, ContainerSummary } from "./store/container.js";
export type { DoctorReport } from "./store/doctor.js";
export { INDEX_DIR, type OpenStoreOptions, openStore } from "./store/open-store.js";
export type { ListOptions, LoadOptions, ResolveOptions, UpdateFn } from "./store/options.js";
export type { PrunedFile, PruneOptions, PruneReport } from "./store/prune.js";
export type { Store } from "./store/store.js";
export type { Watcher, WatchOptions } from "./watch/watcher.js";
