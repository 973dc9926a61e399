/**
 * A stand-in for a runsc sandbox process where the real runsc is not the
 * point of the test: a real process whose command line is runsc's
 * (`runsc-sandbox ... boot ... <sandbox ID>`) and which serves runsc's
 * control protocol (urpc: one JSON call, one JSON reply, several per
 * connection) on a unix socket file, as current runsc does at
 * `sandbox.controlSocketPath`. It answers `containerManager.Signal` with
 * success for the container IDs it was given ("alive") and with runsc's
 * error for any other. Killed by killSpawned().
 */

import fs from "node:fs";
import path from "node:path";
import { type Spawned, spawnProcess, waitUntil } from "./foreign.js";

const SERVER = `
const net = require("node:net");
const [socketPath, cids] = process.argv.slice(1);
const live = new Set(cids.split(",").filter(Boolean));
net.createServer((c) => {
  console.log("connection");
  let buf = "";
  c.on("error", () => {});
  c.on("data", (d) => {
    buf += d;
    let call;
    try { call = JSON.parse(buf); } catch { return; }
    buf = "";
    const ok = call.method === "containerManager.Signal" && live.has(call.arg && call.arg.CID);
    c.write(JSON.stringify(ok ? { success: true, err: "", result: {} }
      : { success: false, err: "signaling process in container PID 0: no such process", result: null }));
  });
}).listen(socketPath, () => console.log("ready"));
`;

export interface StandInSandbox {
  readonly process: Spawned;
  readonly pid: number;
  /** The control socket: put it in the state files' `sandbox.controlSocketPath`. */
  readonly socketPath: string;
}

/**
 * startStandInSandbox starts the stand-in with its socket in `dir` and
 * resolves once it serves. The socket is bound by a name relative to `dir`,
 * so `dir` may be longer than a unix socket address allows. It prints one
 * "connection" line per accepted connection.
 */
export async function startStandInSandbox(
  dir: string,
  sandboxId: string,
  liveContainerIds: readonly string[],
): Promise<StandInSandbox> {
  const name = `runsc-${sandboxId.slice(0, 12)}.sock`;
  const socketPath = path.join(dir, name);
  const args = ["-e", SERVER, name, liveContainerIds.join(","), "boot", sandboxId];
  const proc = spawnProcess(process.execPath, args, { argv0: "runsc-sandbox", cwd: dir });
  await proc.line((l) => l === "ready");
  await waitUntil("the control socket exists", () => fs.existsSync(socketPath));
  return { process: proc, pid: proc.pid, socketPath };
}
