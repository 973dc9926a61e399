import path from "node:path";
import { CorruptStateError } from "../errors.js";
import { type ContainerId, parseIdPair, type SandboxId } from "../ids/id.js";
import { decodeJson, JsonSyntaxError } from "./codec.js";
import { type ContainerFields, FieldError, readFields } from "./fields.js";
import { encodeGoJson, fromPlain, JsonNumber, type JsonObject, type JsonValue, toPlain } from "./go-json.js";
import { goField } from "./go-keys.js";
import { checkGoTypes, goOrdered } from "./go-rules.js";
import { encodeStatus, type Status } from "./status.js";

/** A path into the document: keys and array indexes, or a dotted string (`"sandbox.pid"`). */
export type DocumentPath = string | readonly (string | number)[];

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
  /** The text and bytes the document was parsed from, kept only when they differ (invalid UTF-8). */
  #source: { readonly text: string; readonly bytes: Uint8Array } | undefined;
  /** The `saver` as parsed from a file (encoded), for checkWritable's rule on kept savers. */
  #parsedSaver: string | undefined;

  private constructor(root: JsonObject, fields: ContainerFields) {
    this.root = root;
    this.#fields = fields;
  }

  /**
   * parse decodes a state file's text (decoded as Go does: invalid UTF-8 is
   * U+FFFD). With `bytes`, the bytes read, a save of the unchanged document
   * writes those bytes back. Throws ERR_CORRUPT_STATE naming `file`.
   */
  static parse(text: string, file: string, bytes?: Uint8Array): StateDocument {
    if (text.length === 0) throw new CorruptStateError(file, "empty file");
    let tree: JsonValue;
    try {
      tree = decodeJson(text);
    } catch (e) {
      if (e instanceof JsonSyntaxError) throw new CorruptStateError(file, `invalid JSON: ${e.message}`, { cause: e });
      throw e;
    }
    const doc = StateDocument.#checked(tree, file);
    if (bytes !== undefined && text.includes("\ufffd")) doc.#source = { text, bytes };
    doc.#parsedSaver = doc.#saverText();
    return doc;
  }

  /** from builds a document from plain JS values or a JSON tree. Throws ERR_CORRUPT_STATE. */
  static from(value: unknown, name = "new state"): StateDocument {
    let tree: JsonValue;
    try {
      tree = fromPlain(value);
    } catch (e) {
      if (e instanceof TypeError) throw new CorruptStateError(name, e.message, { cause: e });
      throw e;
    }
    return StateDocument.#checked(tree, name);
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
  get(at: DocumentPath): JsonValue | undefined {
    let node: JsonValue | undefined = this.root;
    for (const key of keysOf(at)) {
      if (node instanceof Map) node = node.get(String(key));
      else if (Array.isArray(node) && typeof key === "number") node = node[key];
      else return undefined;
    }
    return node;
  }

  /** getPlain is get() converted to plain JS (big integers as bigint). */
  getPlain(at: DocumentPath): unknown {
    const v = this.get(at);
    return v === undefined ? undefined : toPlain(v);
  }

  /** getString returns the string at a path; undefined when missing or null. Throws TypeError for any other value. */
  getString(at: DocumentPath): string | undefined {
    const v = this.get(at);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new TypeError(`${showPath(at)} is not a string`);
    return v;
  }

  /**
   * getInt returns the integer at a path: a number while it is a safe
   * integer (|n| < 2^53), a bigint beyond, so no digit is ever lost.
   * undefined when missing or null. Throws TypeError for anything that is
   * not integer text (a string, `1.5`, `1e3`).
   */
  getInt(at: DocumentPath): number | bigint | undefined {
    const v = this.get(at);
    if (v === undefined || v === null) return undefined;
    if (!(v instanceof JsonNumber) || !/^-?\d+$/.test(v.raw)) throw new TypeError(`${showPath(at)} is not an integer`);
    return v.isSafeInteger() ? v.toNumber() : v.toBigInt();
  }

  /**
   * set stores a value (plain JS or a JSON tree) at a path, creating missing
   * parents as objects; a new key goes last, an existing key keeps its place.
   * Throws TypeError for an empty path, a parent that is neither object nor
   * array, or a value with no JSON form (NaN, a JS number past 2^53: use a bigint).
   */
  set(at: DocumentPath, value: unknown): void {
    const keys = keysOf(at);
    if (keys.length === 0) throw new TypeError("set needs a non-empty path");
    const encoded = fromPlain(value);
    const parent = this.#parentOf(keys, true);
    const key = keys[keys.length - 1]!;
    if (parent instanceof Map) parent.set(String(key), encoded);
    else if (Array.isArray(parent) && typeof key === "number" && key >= 0 && key <= parent.length)
      parent[key] = encoded;
    else throw new TypeError(`cannot set ${showPath(at)}: its parent is not an object or array`);
    this.#fields = undefined;
  }

  /** delete removes the key (or array element) at a path; returns false when there was none. */
  delete(at: DocumentPath): boolean {
    const keys = keysOf(at);
    if (keys.length === 0) throw new TypeError("delete needs a non-empty path");
    const parent = this.#parentOf(keys, false);
    const key = keys[keys.length - 1]!;
    let deleted = false;
    if (parent instanceof Map) deleted = parent.delete(String(key));
    else if (Array.isArray(parent) && typeof key === "number" && key >= 0 && key < parent.length) {
      parent.splice(key, 1);
      deleted = true;
    }
    if (deleted) this.#fields = undefined;
    return deleted;
  }

  /** #parentOf walks to the container holding the last key, creating missing objects when asked. */
  #parentOf(keys: readonly (string | number)[], create: boolean): JsonValue | undefined {
    let node: JsonValue | undefined = this.root;
    for (const key of keys.slice(0, -1)) {
      let next: JsonValue | undefined;
      if (node instanceof Map) {
        next = node.get(String(key));
        if (next === undefined && create) {
          next = new Map();
          node.set(String(key), next);
        }
      } else if (Array.isArray(node) && typeof key === "number") next = node[key];
      node = next;
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** toJSON returns the document as plain JS, Go maps in Go's key order (big integers as bigint, as getPlain). */
  toJSON(): Record<string, unknown> {
    return toPlain(goOrdered(this.root)) as Record<string, unknown>;
  }

  /**
   * encode gives compact Go-style JSON, no trailing newline, with Go maps'
   * keys sorted as json.Marshal sorts them; a Go-written file comes back
   * byte for byte.
   */
  encode(): string {
    return encodeGoJson(goOrdered(this.root));
  }

  /**
   * fileData returns what a save writes: the bytes the document was parsed
   * from while it encodes to the same text (so invalid UTF-8 an unchanged
   * file holds is kept), else encode().
   */
  fileData(): string | Uint8Array {
    const text = this.encode();
    return this.#source !== undefined && text === this.#source.text ? this.#source.bytes : text;
  }

  /**
   * checkWritable refuses a document runsc could not load or would act on
   * wrongly, before anything is written: `spec` or `sandbox` missing, a
   * value its Go types reject (go-rules.ts), a status runsc does not know,
   * or a `saver` that does not name this very file: `rootDir` must be the
   * store's root, `id` the document's own IDs (runsc locks and saves through
   * the saver after loading it). A saver kept as parsed from the file (this
   * document's, or `previous`'s) may name another root directory: runsc
   * wrote it so, e.g. seeing the root through another mount.
   * Returns the document's IDs. Throws ERR_INVALID_ID first when the IDs
   * are strings that cannot name a state file, then ERR_CORRUPT_STATE naming
   * the state file and the field's JSON path.
   */
  checkWritable(rootDir: string, previous?: StateDocument): { containerId: ContainerId; sandboxId: SandboxId } {
    const named = this.namedIds();
    if (named !== undefined) parseIdPair(named.containerId, named.sandboxId);
    try {
      for (const name of ["spec", "sandbox"]) {
        const v = goField(this.root, name);
        if (!(v instanceof Map)) {
          throw new FieldError(`"${name}" must be an object: ${v === undefined ? "missing" : "null or not an object"}`);
        }
      }
      checkGoTypes(this.root);
      const { containerId, sandboxId } = readFields(this.root);
      const saverText = this.#saverText();
      const kept = saverText !== undefined && saverText === (previous ?? this).#parsedSaver;
      checkSaver(this.root, { rootDir, containerId, sandboxId }, kept);
      return parseIdPair(containerId, sandboxId);
    } catch (e) {
      if (e instanceof FieldError)
        throw new CorruptStateError(this.#fileLabel(), e.message, { cause: e, writing: true });
      throw e;
    }
  }

  /** namedIds returns `id` and `sandbox.id` (keys matched as Go matches them) when both are strings, else undefined. */
  namedIds(): { containerId: string; sandboxId: string } | undefined {
    const id = goField(this.root, "id");
    const sandbox = goField(this.root, "sandbox");
    const sid = sandbox instanceof Map ? goField(sandbox, "id") : undefined;
    return typeof id === "string" && typeof sid === "string" ? { containerId: id, sandboxId: sid } : undefined;
  }

  /** #fileLabel names the state file the document is for, as far as its IDs say. */
  #fileLabel(): string {
    const named = this.namedIds();
    return named === undefined ? "new state" : `${named.containerId}_sandbox:${named.sandboxId}.state`;
  }

  #saverText(): string | undefined {
    const saver = goField(this.root, "saver");
    return saver === undefined ? undefined : encodeGoJson(saver);
  }
}

/** checkSaver: saver.id names the file, saver.rootDir the store's root (or is kept as runsc wrote it). */
function checkSaver(
  root: JsonObject,
  target: { rootDir: string; containerId: string; sandboxId: string },
  kept: boolean,
): void {
  const saver = goField(root, "saver");
  if (!(saver instanceof Map)) {
    throw new FieldError(`"saver" must be an object naming the file: ${saver === undefined ? "missing" : "null"}`);
  }
  const rootDir = goField(saver, "rootDir");
  const absolute = typeof rootDir === "string" && path.isAbsolute(rootDir);
  if (!absolute || (!kept && path.resolve(rootDir) !== path.resolve(target.rootDir))) {
    const want = JSON.stringify(target.rootDir);
    throw new FieldError(`"saver.rootDir" must be this store's root ${want}: ${JSON.stringify(rootDir ?? null)}`);
  }
  const id = goField(saver, "id");
  const ids = id instanceof Map ? id : new Map<string, JsonValue>();
  const wanted = { containerId: target.containerId, sandboxId: target.sandboxId };
  for (const [key, want] of Object.entries(wanted)) {
    const got = goField(ids, key);
    if (got !== want) {
      throw new FieldError(
        `"saver.id.${key}" must be ${JSON.stringify(want)}, the file's: ${JSON.stringify(got ?? null)}`,
      );
    }
  }
}

/** keysOf turns a dotted path into keys; an array path is used as it is. */
function keysOf(at: DocumentPath): readonly (string | number)[] {
  return typeof at === "string" ? at.split(".") : at;
}

function showPath(at: DocumentPath): string {
  return JSON.stringify(typeof at === "string" ? at : at.join("."));
}
