/**
 * sd_notify(3) for `watch` under systemd (Type=notify): READY=1 once the
 * first pass is done, STOPPING=1 when it ends. A no-op outside systemd
 * (no NOTIFY_SOCKET). Sent from this process, so the unit needs no
 * NotifyAccess=all, unlike a `systemd-notify` child process.
 */
import { RunscIndexError } from "../errors.js";
import { errnoName, sendUnixDatagram } from "../native/libc.js";

/**
 * sdNotify sends one notification (e.g. "READY=1\nSTATUS=...") to
 * $NOTIFY_SOCKET. Returns false when there is no such socket. Throws ERR_IO
 * when the datagram cannot be sent.
 */
export function sdNotify(state: string): boolean {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return false;
  const errno = sendUnixDatagram(socket, state);
  if (errno !== 0) throw new RunscIndexError("ERR_IO", `notifying systemd at "${socket}": ${errnoName(errno)}`);
  return true;
}
