import path from "node:path";
import { lockFileName, stateFileName } from "./file-names.js";
import type { IdPair } from "./id.js";

/**
 * RootDir is runsc's state directory (its --root): the one place that builds
 * the path of a container's files, so the name scheme has one home.
 */
export class RootDir {
  /** The absolute path of the directory. */
  readonly path: string;

  constructor(dir: string) {
    this.path = path.resolve(dir);
  }

  /** statePath returns `<root>/<cid>_sandbox:<sid>.state`. */
  statePath(ids: IdPair): string {
    return this.file(stateFileName(ids.containerId, ids.sandboxId));
  }

  /** lockPath returns `<root>/<cid>_sandbox:<sid>.lock`. */
  lockPath(ids: IdPair): string {
    return this.file(lockFileName(ids.containerId, ids.sandboxId));
  }

  /** file returns the path of a name in the directory. */
  file(name: string): string {
    return path.join(this.path, name);
  }
}
