/**
 * The watcher's poll thread: blocks in poll(2) on the watcher's inotify
 * descriptors and on a pidfd per sandbox process, and tells the main thread
 * which are ready. It costs nothing while nothing happens: no timer, no /proc.
 *
 * Protocol: the main thread sends updates on `port` and bumps `wake` (an
 * eventfd in the poll set). After each report this thread waits on `ack`
 * until the main thread has drained what was ready, so a level-triggered
 * descriptor is not reported twice.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { closeFd, ESRCH, POLLFD_BYTES, POLLIN, pidfdOpen, pollFds, readInto } from "../native/libc.js";

/** What the main thread sends: the descriptors to poll, PIDs to watch or forget, or stop. */
export interface PollUpdate {
  readonly fds?: readonly number[];
  readonly addPids?: readonly number[];
  readonly removePids?: readonly number[];
  /** PIDs in addPids that are already gone are dropped silently instead of reported dead (the watcher always says so). */
  readonly quiet?: boolean;
  readonly stop?: boolean;
}

/** What this thread reports: ready descriptors and PIDs whose process exited (or did not exist). */
export interface PollReport {
  readonly ready: number[];
  readonly dead: number[];
}

export interface PollWorkerData {
  readonly wake: number;
  readonly ack: Int32Array;
  readonly port: MessagePort;
  readonly update: PollUpdate;
}

function run(data: PollWorkerData): void {
  let fds: readonly number[] = [];
  const pidfds = new Map<number, number>(); // pid -> pidfd
  const dead: number[] = [];
  const scratch = Buffer.alloc(8);
  const apply = (u: PollUpdate): boolean => {
    if (u.fds) fds = u.fds;
    for (const pid of u.removePids ?? []) {
      const fd = pidfds.get(pid);
      if (fd !== undefined) closeFd(fd);
      pidfds.delete(pid);
    }
    for (const pid of u.addPids ?? []) {
      if (pidfds.has(pid)) continue;
      const { result, errno } = pidfdOpen(pid);
      if (result >= 0) pidfds.set(pid, result);
      else if (errno === ESRCH && !u.quiet) dead.push(pid); // already gone; other errors (EMFILE): not watched
    }
    if (u.stop) for (const fd of pidfds.values()) closeFd(fd);
    return u.stop === true;
  };
  if (apply(data.update)) return;
  for (;;) {
    for (let m = receiveMessageOnPort(data.port); m; m = receiveMessageOnPort(data.port)) {
      if (apply(m.message as PollUpdate)) return;
    }
    const ready: number[] = [];
    if (dead.length === 0) {
      const pids = [...pidfds.keys()];
      const all = [data.wake, ...fds, ...pids.map((p) => pidfds.get(p)!)];
      const buf = Buffer.alloc(all.length * POLLFD_BYTES);
      all.forEach((fd, i) => {
        buf.writeInt32LE(fd, i * POLLFD_BYTES);
        buf.writeInt16LE(POLLIN, i * POLLFD_BYTES + 4);
      });
      pollFds(buf, all.length, -1);
      const revents = (i: number) => buf.readInt16LE(i * POLLFD_BYTES + 6);
      if (revents(0)) readInto(data.wake, scratch);
      fds.forEach((fd, i) => {
        if (revents(1 + i)) ready.push(fd);
      });
      pids.forEach((pid, i) => {
        if (!revents(1 + fds.length + i)) return;
        closeFd(pidfds.get(pid)!);
        pidfds.delete(pid);
        dead.push(pid);
      });
    }
    if (ready.length === 0 && dead.length === 0) continue;
    Atomics.store(data.ack, 0, 0);
    parentPort!.postMessage({ ready, dead: dead.splice(0) } satisfies PollReport);
    Atomics.wait(data.ack, 0, 0);
  }
}

run(workerData as PollWorkerData);
