import { FIXTURE_SANDBOX_ID, FIXTURE_SUB_ID, SANDBOX_STATE_TEXT, SUB_STATE_TEXT } from "./fixture-text.js";
import type { FileVars } from "./plan.js";
import { compileTemplate, type Substitution, type Template } from "./template.js";

// Literal values in the fixtures that vary per generated file. Each token is
// long or keyed ("pid":…) enough to occur only where that field is meant.
const FIXTURE_POD = "web-7d9f8c6b5-x2lqp";
const FIXTURE_POD_UID = "dcc0caa9-7588-4e05-8c2f-cd764e5f919b";
const FIXTURE_NETNS = "cni-6712ecb6-fa4c-4b7e-c722-58f523443cec";
const FIXTURE_ROOT_DIR = "/run/containerd/runsc/k8s.io";
const FIXTURE_START_TIME = "2026-08-12T14:03:27.401772118Z";

/** The templates for one generated root: its sandbox (root) containers and its sub-containers. */
export type StateTemplates = { root: Template<FileVars>; sub: Template<FileVars> };

// Fields both fixtures carry, in their sandbox copy and spec annotations.
function sharedSubs(rootDir: string): Substitution<FileVars>[] {
  // saver.rootDir and the control socket name the real root, as runsc writes
  // them; JSON.stringify supplies the escaping (generated dirs need none of Go's extra escapes).
  const rootDirJson = JSON.stringify(rootDir).slice(1, -1);
  return [
    [FIXTURE_SANDBOX_ID, (v) => v.sandboxId],
    [FIXTURE_POD, (v) => v.podName],
    [FIXTURE_POD_UID, (v) => v.podUid],
    [FIXTURE_NETNS, (v) => v.netns],
    [FIXTURE_ROOT_DIR, () => rootDirJson],
    [FIXTURE_START_TIME, (v) => v.startTime],
    ['"default"', (v) => `"${v.namespace}"`],
    ['"pid":412345', (v) => `"pid":${v.pid}`],
  ];
}

/** loadStateTemplates cuts both embedded fixtures them into templates for files under `rootDir`. */
export function loadStateTemplates(rootDir: string): StateTemplates {
  const shared = sharedSubs(rootDir);
  const root = compileTemplate<FileVars>(SANDBOX_STATE_TEXT, [
    ...shared,
    ['"status":"running"', (v) => `"status":"${v.status}"`],
    ['"goferPid":412331', (v) => `"goferPid":${v.goferPid}`],
    ["2026-08-12T14:03:27.418862107Z", (v) => v.createdAt],
    ["/default_", (v) => `/${v.namespace}_`],
  ]);
  const sub = compileTemplate<FileVars>(SUB_STATE_TEXT, [
    ...shared,
    [FIXTURE_SUB_ID, (v) => v.containerId],
    ['"status":"created"', (v) => `"status":"${v.status}"`],
    ['"goferPid":0', (v) => `"goferPid":${v.goferPid}`],
    ["/proc/412345/", (v) => `/proc/${v.pid}/`],
    ["2026-08-12T14:03:31.209466553Z", (v) => v.createdAt],
    ['"io.kubernetes.cri.container-name":"nginx"', (v) => `"io.kubernetes.cri.container-name":"${v.containerName}"`],
    ["/containers/nginx/", (v) => `/containers/${v.containerName}/`],
  ]);
  return { root, sub };
}
