/** runsc-index: the public surface. */
export {
  CorruptStateError,
  ERROR_CODES,
  type ErrorCode,
  LockTimeoutError,
  QuerySyntaxError,
  RunscIndexError,
} from "./errors.js";
export { dropHost, type ExportOptions, type ExportReport, type PgExporter } from "./export/pg-exporter.js";
export { AmbiguousIdError } from "./ids/ambiguous-id-error.js";
export type { ContainerId, IdPair, IdPair as Candidate, SandboxId } from "./ids/id.js";
export { parseContainerId, parseSandboxId } from "./ids/id.js";
export {
  DEFAULT_QUERY_TIMEOUT_MS,
  type QueryIsolation,
  type QueryOptions,
  QueryRows,
} from "./index/query-runner.js";
export type { QueryParams, QueryResult, QueryRow } from "./index/readonly-query.js";
export type { Liveness } from "./liveness/liveness.js";
export type { MetricsServer, WatchMetrics } from "./metrics/metrics.js";

/** loadMetrics loads WatchMetrics and serveMetrics (prom-client costs ~100 ms to load, so only on demand). */
export function loadMetrics(): Promise<typeof import("./metrics/metrics.js")> {
  return import("./metrics/metrics.js");
}
export type { ReconcileOptions, ReconcileReport } from "./reconcile/reconcile.js";
export { type DocumentPath, StateDocument } from "./state/document.js";
export type { ContainerFields } from "./state/fields.js";
export { JsonNumber, type JsonObject, type JsonValue } from "./state/go-json.js";
export { STATUSES, type Status } from "./state/status.js";
export type { CheckedStatus, Container, ContainerSummary } from "./store/container.js";
export type { DoctorReport } from "./store/doctor.js";
export { INDEX_DIR, type OpenStoreOptions, openStore } from "./store/open-store.js";
export type { ListOptions, LoadOptions, ResolveOptions, StoreQueryOptions, UpdateFn } from "./store/options.js";
export type { PrunedFile, PruneOptions, PruneReport } from "./store/prune.js";
export type { Store } from "./store/store.js";
export type {
  CreatedEvent,
  EventOptions,
  GapEvent,
  OverflowEvent,
  RemovedEvent,
  ResyncEvent,
  StoppedEvent,
  StoreEvent,
  StoreEventType,
  UpdatedEvent,
} from "./watch/events.js";
export type { Watcher, WatchOptions } from "./watch/watcher.js";
