import { CorruptStateError } from "../errors.js";
import { decodeJson, JsonSyntaxError } from "./codec.js";
import { type ContainerFields, FieldError, readFields } from "./fields.js";
import { encodeGoJson, fromPlain, type JsonObject, type JsonValue, toPlain } from "./go-json.js";
import { encodeStatus, type Status } from "./status.js";

/** State files are ~7 KB; anything past this is not one, and is not read whole. */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;

/**
 * StateDocument is one decoded state file: the lossless JSON tree (key order,
 * unknown fields and every digit of big integers kept) plus its typed fields.
 * Encoding an unchanged document gives back the bytes Go wrote.
 */
export class StateDocument {
  readonly root: JsonObject;
  #fields: ContainerFields | undefined;

  private constructor(root: JsonObject, fields: ContainerFields) {
    this.root = root;
    this.#fields = fields;
  }

  /** parse decodes a state file's text. Throws ERR_CORRUPT_STATE naming `file`. */
  static parse(text: string, file: string): StateDocument {
    if (text.length === 0) throw new CorruptStateError(file, "empty file");
    let tree: JsonValue;
    try {
      tree = decodeJson(text);
    } catch (e) {
      if (e instanceof JsonSyntaxError) throw new CorruptStateError(file, `invalid JSON: ${e.message}`, { cause: e });
      throw e;
    }
    return StateDocument.#checked(tree, file);
  }

  /** from builds a document from plain JS values or a JSON tree. Throws ERR_CORRUPT_STATE. */
  static from(value: unknown, name = "new state"): StateDocument {
    return StateDocument.#checked(fromPlain(value), name);
  }

  static #checked(tree: JsonValue, file: string): StateDocument {
    try {
      const fields = readFields(tree);
      return new StateDocument(tree as JsonObject, fields);
    } catch (e) {
      if (e instanceof FieldError) throw new CorruptStateError(file, e.message, { cause: e });
      throw e;
    }
  }

  /** fields are the typed fields; recomputed after a change through set(). Throws ERR_CORRUPT_STATE. */
  get fields(): ContainerFields {
    if (this.#fields === undefined) {
      try {
        this.#fields = readFields(this.root);
      } catch (e) {
        throw new CorruptStateError(`state of ${String(this.root.get("id"))}`, (e as Error).message, { cause: e });
      }
    }
    return this.#fields;
  }

  get status(): Status {
    return this.fields.storedStatus;
  }

  /** status is written back in the encoding the file had (string or legacy integer). */
  set status(status: Status) {
    this.set(["status"], encodeStatus(status, this.fields.statusEncoding));
  }

  /** get returns the value at a path of object keys and array indexes, or undefined. */
  get(path: readonly (string | number)[]): JsonValue | undefined {
    let node: JsonValue | undefined = this.root;
    for (const key of path) {
      if (node instanceof Map) node = node.get(String(key));
      else if (Array.isArray(node) && typeof key === "number") node = node[key];
      else return undefined;
    }
    return node;
  }

  /** getPlain is get() converted to plain JS (big integers as bigint). */
  getPlain(path: readonly (string | number)[]): unknown {
    const v = this.get(path);
    return v === undefined ? undefined : toPlain(v);
  }

  /**
   * set stores a value (plain JS or a JSON tree) at a path whose parents
   * exist; a new key goes last, an existing key keeps its place.
   */
  set(path: readonly (string | number)[], value: unknown): void {
    if (path.length === 0) throw new TypeError("set needs a non-empty path");
    const parent = this.get(path.slice(0, -1));
    const key = path[path.length - 1]!;
    const encoded = fromPlain(value);
    if (parent instanceof Map) parent.set(String(key), encoded);
    else if (Array.isArray(parent) && typeof key === "number" && key >= 0 && key <= parent.length)
      parent[key] = encoded;
    else throw new TypeError(`cannot set ${JSON.stringify(path)}: no object or array at its parent`);
    this.#fields = undefined;
  }

  /** encode gives compact Go-style JSON, no trailing newline. */
  encode(): string {
    return encodeGoJson(this.root);
  }
}
