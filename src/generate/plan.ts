import type { Prng } from "./prng.js";

/** The per-file values a generated state file differs in; see state-templates.ts for where each goes. */
export type FileVars = {
  containerId: string;
  sandboxId: string;
  status: "created" | "running" | "paused";
  /** Sandbox PID. Above Linux's PID_MAX_LIMIT (4194304) so no live process can own it: liveness says stopped. */
  pid: number;
  goferPid: number;
  createdAt: string;
  startTime: string;
  podName: string;
  namespace: string;
  podUid: string;
  netns: string;
  containerName: string;
};

/** PID_MAX_LIMIT on 64-bit Linux; every PID from here up is invalid. */
const INVALID_PID_BASE = 4194304;

// A few dozen namespaces, a handful of them busy, as on a shared cluster.
const NAMESPACES = [
  "default",
  "kube-system",
  "monitoring",
  "ingress-nginx",
  "cert-manager",
  "logging",
  ...Array.from({ length: 30 }, (_, i) => `tenant-${String(i + 1).padStart(2, "0")}`),
];
const APPS = ["web", "api", "worker", "cache", "frontend", "backend", "ingest", "search", "auth", "billing", "queue"];
const SIDECARS = ["istio-proxy", "log-shipper", "nginx", "metrics-agent"];
// Kubernetes' SafeEncodeString alphabet, used in generated pod-name suffixes.
const K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const EPOCH_MS = Date.UTC(2026, 7, 1);
const SPREAD_MS = 30 * 24 * 3600 * 1000;

/**
 * goTime formats like Go's time.Time MarshalJSON in UTC: RFC3339 with up to
 * nine fraction digits, trailing zeros dropped (and the dot, if nothing is left).
 */
export function goTime(ms: number, subMsNanos: number): string {
  const iso = new Date(ms).toISOString();
  const frac = (iso.slice(20, 23) + String(subMsNanos).padStart(6, "0")).replace(/0+$/, "");
  return iso.slice(0, 19) + (frac ? "." + frac : "") + "Z";
}

// A version-4 UUID, the shape of Kubernetes pod UIDs.
function uuid(prng: Prng): string {
  const h = prng.hex(32);
  const variant = "89ab"[prng.int(4)];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

function rootStatus(prng: Prng): FileVars["status"] {
  const r = prng.uint32() / 0x1_0000_0000;
  return r < 0.9 ? "running" : r < 0.95 ? "created" : "paused";
}

// A sub-container follows its sandbox: created with it, paused with it, and
// mostly started once the sandbox runs.
function subStatus(prng: Prng, root: FileVars["status"]): FileVars["status"] {
  return root === "running" && prng.chance(0.1) ? "created" : root;
}

/**
 * planSandbox returns the files of one sandbox: its root container (container
 * ID == sandbox ID) and then `size - 1` sub-containers. `index` is the
 * sandbox's ordinal, which keeps every PID unique.
 */
export function planSandbox(prng: Prng, index: number, size: number): FileVars[] {
  const sandboxId = prng.hex(64);
  const app = prng.pick(APPS);
  const pid = INVALID_PID_BASE + index * 8;
  const createdMs = EPOCH_MS + prng.int(SPREAD_MS);
  const root: FileVars = {
    containerId: sandboxId,
    sandboxId,
    status: rootStatus(prng),
    pid,
    goferPid: pid + 1,
    createdAt: goTime(createdMs, prng.int(1e6)),
    startTime: goTime(createdMs - 5 - prng.int(35), prng.int(1e6)),
    podName: `${app}-${prng.word(K8S_ALPHABET, 9)}-${prng.word(K8S_ALPHABET, 5)}`,
    // Squaring skews toward the front of the list: a few namespaces hold most pods.
    namespace: NAMESPACES[Math.floor(NAMESPACES.length * (prng.uint32() / 0x1_0000_0000) ** 2)]!,
    podUid: uuid(prng),
    netns: `cni-${uuid(prng)}`,
    containerName: "POD",
  };
  const files = [root];
  for (let j = 1; j < size; j++) {
    files.push(planSub(prng, root, createdMs, j, j === 1 ? app : prng.pick(SIDECARS)));
  }
  return files;
}

function planSub(prng: Prng, root: FileVars, rootCreatedMs: number, j: number, name: string): FileVars {
  const status = subStatus(prng, root.status);
  // A created sub-container has no gofer yet: runsc start spawns it.
  const goferPid = status === "created" ? 0 : root.pid + 1 + j;
  const createdMs = rootCreatedMs + 1000 * j + prng.int(5000);
  return {
    ...root,
    containerId: prng.hex(64),
    status,
    goferPid,
    createdAt: goTime(createdMs, prng.int(1e6)),
    containerName: name,
  };
}
