/** The options of Store's methods, and the settings openStore gives a Store. */
import type { IndexPlace } from "../index/index-file.js";
import type { QueryIsolation, QueryOptions } from "../index/query-runner.js";
import type { LockWait } from "../lock/flock.js";
import type { StateDocument } from "../state/document.js";
import type { Status } from "../state/status.js";

export interface ResolveOptions {
  /** Only containers of this sandbox. */
  readonly sandbox?: string | undefined;
}

export interface LoadOptions extends ResolveOptions {
  /** The ID is a full container ID, not a prefix. */
  readonly exact?: boolean;
  /** Skip the liveness check: report the stored status. */
  readonly skipCheck?: boolean;
  /** Also run the strict check (liveness.ts): fills `liveness` and `strictStatus`, never changes `status`. */
  readonly strictLiveness?: boolean;
  /** Fail with ERR_LOCKED instead of waiting for the lock. */
  readonly tryLock?: boolean;
  /** Fail unless the container is its sandbox's root container. */
  readonly rootContainer?: boolean;
}

export interface ListOptions {
  readonly sandbox?: string | undefined;
  readonly status?: Status | undefined;
  /** Bring contents in line with the files first (default true). */
  readonly fresh?: boolean;
  readonly skipCheck?: boolean;
  /** Also run the strict check: fills `liveness` and `strictStatus`, never changes `status`. */
  readonly strictLiveness?: boolean;
  /** Leave the annotations unread (`annotationsJson` "{}"): a listing that does not print them reads less. */
  readonly skipAnnotations?: boolean;
}

/** Options of query and queryRows. */
export interface StoreQueryOptions extends QueryOptions {
  /** Bring contents in line with the files first (default true). */
  readonly fresh?: boolean | undefined;
  /**
   * Where the query runs (default "process"): a child process, stopped with
   * SIGKILL at the time limit even inside one long SQLite step; or a worker
   * thread, which starts faster but cannot be stopped inside such a step
   * (its thread then runs on until the process exits through _exit).
   */
  readonly isolation?: QueryIsolation | undefined;
}

/** update's callback changes the document in place (returning nothing) or returns a new one. */
// biome-ignore lint/suspicious/noConfusingVoidType: callbacks that change the document in place return void
export type UpdateFn = (doc: StateDocument) => void | StateDocument;

export interface StoreSettings {
  readonly root: string;
  readonly indexPath: string;
  readonly indexPlace: IndexPlace;
  /** The index is in memory: a read-only store whose root has no index it may open. */
  readonly memoryIndex: boolean;
  readonly lockWait: LockWait;
  readonly durable: boolean;
  readonly readonly: boolean;
  readonly inotify: boolean;
}
