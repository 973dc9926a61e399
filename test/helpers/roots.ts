/**
 * Temporary runsc roots for tests, seeded from the real-format fixtures in
 * test/fixtures/runsc (copied from runsc; see FORMAT.md there).
 *
 * Every directory made here lives under os.tmpdir() and is removed by
 * removeTempDirs(); call it in afterEach (or afterAll).
 *
 * State files written by writeState are built from a fixture with plain
 * JSON.parse / JSON.stringify, not with the code under test. For both
 * fixtures that round trip is byte-identical (FORMAT.md), so an unedited
 * document is exactly what runsc wrote.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The fixture directory, as an absolute path. */
export const FIXTURES_DIR = fileURLToPath(new URL("../fixtures/runsc/", import.meta.url));

/** The fixtures' sandbox ID; also the root (pause) container's ID. */
export const FIXTURE_SANDBOX_ID = "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd";
/** The root (pause) container: status "running", sandbox pid 412345 (above Linux's default pid_max). */
export const FIXTURE_ROOT_ID = FIXTURE_SANDBOX_ID;
/** The sub-container (nginx): status "created". */
export const FIXTURE_SUB_ID = "9579ebb61881f99b1104b8f83d8200c965f160b3311e18d6736036ce7e07b6e5";

/** The two fixture state file names. */
export const FIXTURE_STATE_NAMES: readonly string[] = [
  `${FIXTURE_ROOT_ID}_sandbox:${FIXTURE_SANDBOX_ID}.state`,
  `${FIXTURE_SUB_ID}_sandbox:${FIXTURE_SANDBOX_ID}.state`,
];

/** readFixture returns a fixture file's bytes (e.g. one of FIXTURE_STATE_NAMES). */
export function readFixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES_DIR, name));
}

const made: string[] = [];

/** makeTempDir creates a fresh empty directory under os.tmpdir(). */
export function makeTempDir(label = "test"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runsc-index-${label}-`));
  made.push(dir);
  return dir;
}

/** removeTempDirs removes every directory made by makeTempDir / makeRoot so far. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * makeRoot creates a temporary runsc root (mode 0711, as runsc makes it).
 * With `fixtures: true` it holds byte-exact copies of both fixture state files
 * (mode 0640) and their lock files (mode 0600).
 */
export function makeRoot(options: { fixtures?: boolean } = {}): string {
  const root = makeTempDir("root");
  fs.chmodSync(root, 0o711);
  if (options.fixtures) {
    for (const name of FIXTURE_STATE_NAMES) {
      fs.writeFileSync(path.join(root, name), readFixture(name), { mode: 0o640 });
      fs.chmodSync(path.join(root, name), 0o640);
      const lock = name.replace(/\.state$/, ".lock");
      fs.writeFileSync(path.join(root, lock), "", { mode: 0o600 });
      fs.chmodSync(path.join(root, lock), 0o600);
    }
  }
  return root;
}

/** statePath is `<root>/<cid>_sandbox:<sid>.state`. */
export function statePath(root: string, containerId: string, sandboxId: string): string {
  return path.join(root, `${containerId}_sandbox:${sandboxId}.state`);
}

/** lockPath is `<root>/<cid>_sandbox:<sid>.lock`. */
export function lockPath(root: string, containerId: string, sandboxId: string): string {
  return path.join(root, `${containerId}_sandbox:${sandboxId}.lock`);
}

/** A parsed state document that tests edit freely (plain JSON values). */
// biome-ignore lint/suspicious/noExplicitAny: JSON edited by tests; the code under test checks the types
export type JsonDoc = Record<string, any>;

/** What to put in a state file; everything else comes from a fixture. */
export interface StateSpec {
  readonly containerId: string;
  /** Default: containerId (a root container). */
  readonly sandboxId?: string;
  /** A string, or a number for the legacy integer encoding (0 created .. 4 stopped). Default: the fixture's. */
  readonly status?: string | number;
  /** `sandbox.pid`. Default: the fixture's 412345, above the default pid_max, so never a live process. */
  readonly pid?: number;
  /** `sandbox.startTime` (RFC3339Nano, or "" as in files before 2024-07). */
  readonly startTime?: string;
  /** `createdAt` (RFC3339Nano). */
  readonly createdAt?: string;
  /** `saver.rootDir`. Default: the fixture's. writeState sets it to the root it writes to. */
  readonly rootDir?: string;
  /** Last edits to the parsed document (add fields, break types, ...). */
  readonly edit?: (doc: JsonDoc) => void;
}

/**
 * stateObject returns a fixture document (the root container's when
 * containerId equals the sandbox ID, else the sub-container's) with the IDs
 * (`id`, `sandbox.id`, `saver.id`, the CRI sandbox-id annotation, `bundleDir`)
 * and the given fields replaced. Key order stays the fixture's.
 */
export function stateObject(spec: StateSpec): JsonDoc {
  const sandboxId = spec.sandboxId ?? spec.containerId;
  const base = spec.containerId === sandboxId ? FIXTURE_STATE_NAMES[0]! : FIXTURE_STATE_NAMES[1]!;
  const doc = JSON.parse(readFixture(base).toString("utf8"));
  doc.id = spec.containerId;
  doc.bundleDir = `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${spec.containerId}`;
  doc.sandbox.id = sandboxId;
  doc.saver.id = { sandboxId, containerId: spec.containerId };
  if (doc.spec?.annotations?.["io.kubernetes.cri.sandbox-id"] !== undefined) {
    doc.spec.annotations["io.kubernetes.cri.sandbox-id"] = sandboxId;
  }
  if (spec.status !== undefined) doc.status = spec.status;
  if (spec.pid !== undefined) doc.sandbox.pid = spec.pid;
  if (spec.startTime !== undefined) doc.sandbox.startTime = spec.startTime;
  if (spec.createdAt !== undefined) doc.createdAt = spec.createdAt;
  if (spec.rootDir !== undefined) doc.saver.rootDir = spec.rootDir;
  spec.edit?.(doc);
  return doc;
}

/** stateText is stateObject as compact JSON with no trailing newline, as runsc writes it. */
export function stateText(spec: StateSpec): string {
  return JSON.stringify(stateObject(spec));
}

/**
 * writeState writes `<cid>_sandbox:<sid>.state` into root (mode 0640, in
 * place, as runsc does; no lock file) and returns its path.
 */
export function writeState(root: string, spec: StateSpec): string {
  const file = statePath(root, spec.containerId, spec.sandboxId ?? spec.containerId);
  fs.writeFileSync(file, stateText({ rootDir: root, ...spec }), { mode: 0o640 });
  fs.chmodSync(file, 0o640);
  return file;
}

/** goTime formats a Date as Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped). */
export function goTime(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, "Z");
}
