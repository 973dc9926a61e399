import { closeFd, flock, LOCK_UN } from "../native/libc.js";

/** Only acquireLock can make a HeldLock: holding one proves the flock was taken. */
const lockToken = Symbol("HeldLock");

/**
 * HeldLock is an exclusive flock(2) on a container's `.lock` file, held
 * through an fd that was checked to still be the file at `path`.
 */
export class HeldLock {
  readonly path: string;
  readonly #fd: number;
  #released = false;

  constructor(token: symbol, path: string, fd: number) {
    if (token !== lockToken) throw new TypeError("HeldLock is made only by acquireLock");
    this.path = path;
    this.#fd = fd;
  }

  get held(): boolean {
    return !this.#released;
  }

  /** release unlocks and closes the fd, as gofrs/flock's Unlock does. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    flock(this.#fd, LOCK_UN);
    closeFd(this.#fd);
  }
}

export function makeHeldLock(path: string, fd: number): HeldLock {
  return new HeldLock(lockToken, path, fd);
}

/** assertHeld is the precondition check of every `...Locked` function. */
export function assertHeld(lock: HeldLock, fn: string): void {
  if (!lock.held) throw new Error(`${fn} called without the lock on "${lock.path}" held`);
}
