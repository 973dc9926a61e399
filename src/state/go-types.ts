/**
 * The Go types runsc decodes a state file into, as far as they decide what
 * its json.Unmarshal accepts: runsc/container Container, sandbox.Sandbox,
 * cgroup.CgroupJSON and the OCI specs.Spec, at gVisor release-20221219
 * (runtime-spec 1.0.2) plus the fields master added (runtime-spec 1.2.1).
 *
 * Only typed fields are listed. Anything not listed is accepted as is: Go
 * ignores unknown fields, and a type we do not describe must never make the
 * tool refuse what runsc loads. Pointers are not marked: Go accepts `null`
 * for every field (for a non-pointer it leaves the zero value).
 */

/** Integer kinds by Go name; `int` and `uint` are 64-bit on the platforms runsc runs on. */
export const INT_RANGES = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint: [0n, 2n ** 64n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const;

export type GoInt = keyof typeof INT_RANGES;

/**
 * A Go type as encoding/json sees it. `time` is time.Time (RFC 3339 string),
 * `cgroup` is cgroup.CgroupJSON (its own UnmarshalJSON), `any` accepts every
 * JSON value Go's interface{} does.
 */
export type GoType =
  | GoInt
  | "string"
  | "bool"
  | "float64"
  | "time"
  | "cgroup"
  | "any"
  | { readonly struct: Readonly<Record<string, GoType>> }
  | { readonly map: GoType }
  | { readonly slice: GoType };

const struct = (fields: Record<string, GoType>): GoType => ({ struct: fields });
const map = (elem: GoType): GoType => ({ map: elem });
const slice = (elem: GoType): GoType => ({ slice: elem });
const strings = slice("string");

const idMapping = struct({ containerID: "uint32", hostID: "uint32", size: "uint32" });

const mount = struct({
  destination: "string",
  type: "string",
  source: "string",
  options: strings,
  uidMappings: slice(idMapping),
  gidMappings: slice(idMapping),
});

const hook = struct({ path: "string", args: strings, env: strings, timeout: "int" });

const process = struct({
  terminal: "bool",
  consoleSize: struct({ height: "uint", width: "uint" }),
  user: struct({ uid: "uint32", gid: "uint32", umask: "uint32", additionalGids: slice("uint32"), username: "string" }),
  args: strings,
  commandLine: "string",
  env: strings,
  cwd: "string",
  capabilities: struct({
    bounding: strings,
    effective: strings,
    inheritable: strings,
    permitted: strings,
    ambient: strings,
  }),
  rlimits: slice(struct({ type: "string", hard: "uint64", soft: "uint64" })),
  noNewPrivileges: "bool",
  apparmorProfile: "string",
  oomScoreAdj: "int",
  scheduler: struct({
    policy: "string",
    nice: "int32",
    priority: "int32",
    flags: strings,
    runtime: "uint64",
    deadline: "uint64",
    period: "uint64",
  }),
  selinuxLabel: "string",
  ioPriority: struct({ class: "string", priority: "int" }),
  execCPUAffinity: struct({ initial: "string", final: "string" }),
});

const throttle = slice(struct({ major: "int64", minor: "int64", rate: "uint64" }));

const resources = struct({
  devices: slice(struct({ allow: "bool", type: "string", major: "int64", minor: "int64", access: "string" })),
  memory: struct({
    limit: "int64",
    reservation: "int64",
    swap: "int64",
    kernel: "int64",
    kernelTCP: "int64",
    swappiness: "uint64",
    disableOOMKiller: "bool",
    useHierarchy: "bool",
    checkBeforeUpdate: "bool",
  }),
  cpu: struct({
    shares: "uint64",
    quota: "int64",
    burst: "uint64",
    period: "uint64",
    realtimeRuntime: "int64",
    realtimePeriod: "uint64",
    cpus: "string",
    mems: "string",
    idle: "int64",
  }),
  pids: struct({ limit: "int64" }),
  blockIO: struct({
    weight: "uint16",
    leafWeight: "uint16",
    weightDevice: slice(struct({ major: "int64", minor: "int64", weight: "uint16", leafWeight: "uint16" })),
    throttleReadBpsDevice: throttle,
    throttleWriteBpsDevice: throttle,
    throttleReadIOPSDevice: throttle,
    throttleWriteIOPSDevice: throttle,
  }),
  hugepageLimits: slice(struct({ pageSize: "string", limit: "uint64" })),
  network: struct({ classID: "uint32", priorities: slice(struct({ name: "string", priority: "uint32" })) }),
  rdma: map(struct({ hcaHandles: "uint32", hcaObjects: "uint32" })),
  unified: map("string"),
});

const seccomp = struct({
  defaultAction: "string",
  defaultErrnoRet: "uint",
  architectures: strings,
  flags: strings,
  listenerPath: "string",
  listenerMetadata: "string",
  syscalls: slice(
    struct({
      names: strings,
      action: "string",
      errnoRet: "uint",
      args: slice(struct({ index: "uint", value: "uint64", valueTwo: "uint64", op: "string" })),
    }),
  ),
});

const linux = struct({
  uidMappings: slice(idMapping),
  gidMappings: slice(idMapping),
  sysctl: map("string"),
  resources,
  cgroupsPath: "string",
  namespaces: slice(struct({ type: "string", path: "string" })),
  devices: slice(
    struct({
      path: "string",
      type: "string",
      major: "int64",
      minor: "int64",
      fileMode: "uint32",
      uid: "uint32",
      gid: "uint32",
    }),
  ),
  seccomp,
  rootfsPropagation: "string",
  maskedPaths: strings,
  readonlyPaths: strings,
  mountLabel: "string",
  intelRdt: struct({
    closID: "string",
    l3CacheSchema: "string",
    memBwSchema: "string",
    enableCMT: "bool",
    enableMBM: "bool",
  }),
  personality: struct({ domain: "string", flags: strings }),
  timeOffsets: map(struct({ secs: "int64", nanosecs: "uint32" })),
  netDevices: map(struct({ name: "string" })),
});

/** specs.Spec: the Linux parts runsc reads; Windows, Solaris, VM and z/OS sections are not checked. */
export const SPEC_TYPE: GoType = struct({
  ociVersion: "string",
  process,
  root: struct({ path: "string", readonly: "bool" }),
  hostname: "string",
  domainname: "string",
  mounts: slice(mount),
  hooks: struct({
    prestart: slice(hook),
    createRuntime: slice(hook),
    createContainer: slice(hook),
    startContainer: slice(hook),
    poststart: slice(hook),
    poststop: slice(hook),
  }),
  annotations: map("string"),
  linux,
});

const cgroupV2Fields = { mountpoint: "string", path: "string", controllers: strings, own: strings } as const;

/** The three shapes inside cgroup.CgroupJSON, in the order its UnmarshalJSON tries them. */
export const CGROUP_TYPES: readonly (readonly [string, GoType])[] = [
  ["cgroupv1", struct({ name: "string", parents: map("string"), own: map("bool") })],
  ["cgroupv2", struct(cgroupV2Fields)],
  ["cgroupsystemd", struct({ ...cgroupV2Fields, Name: "string", Parent: "string", ScopePrefix: "string" })],
];

/** sandbox.Sandbox; `pid` is its Pid type, whose UnmarshalJSON decodes a Go int. */
export const SANDBOX_TYPE: GoType = struct({
  id: "string",
  podName: "string",
  namespace: "string",
  pid: "int",
  uid: "int",
  gid: "int",
  cgroup: "cgroup",
  originalOomScoreAdj: "int",
  registeredMetrics: "any",
  metricMetadata: map("string"),
  metricServerAddress: "string",
  controlSocketPath: "string",
  mountHints: struct({
    mounts: map(struct({ name: "string", share: "any", mount, suppressDirectFS: "bool" })),
  }),
  startTime: "time",
  checkpointed: "bool",
  restored: "bool",
  cpuTimeSaved: "int64",
  wallTimeSaved: "int64",
});

/** container.Container. `status` is checked by fields.ts (string, or the legacy integer). */
export const CONTAINER_TYPE: GoType = struct({
  id: "string",
  spec: SPEC_TYPE,
  bundleDir: "string",
  createdAt: "time",
  owner: "string",
  consoleSocket: "string",
  status: "any",
  goferPid: "int",
  sandbox: SANDBOX_TYPE,
  compatCgroup: "cgroup",
  saver: struct({ rootDir: "string", id: struct({ sandboxId: "string", containerId: "string" }) }),
  goferMountConfs: "any",
});
