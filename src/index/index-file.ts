/**
 * Which files may hold the index. `--index` may name any path, and the tool
 * runs as root in directories other tools write, so a file is opened for
 * writing, rebuilt or deleted only when it is provably ours:
 *
 * - missing or empty: created (0600, exclusively, never through a symlink);
 * - a SQLite database whose header carries our application_id;
 * - a SQLite database without an application_id (an index of the previous
 *   version) that holds our tables (containers, invalid_files, meta);
 * - anything at all at `<root>/.runsc-index/index.db`: that directory is ours
 *   (we create it 0700 and check its owner and mode), so a corrupt or
 *   unrecognized regular file there is rebuilt.
 *
 * Everything else (another program's database, any other file, a symlink,
 * FIFO, socket, directory or device) is refused and left byte for byte as it
 * is, with its -wal/-shm/-journal siblings.
 */
import fs from "node:fs";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { RunscIndexError } from "../errors.js";
import { createExclusive, ioError, kindOf, lstatOrUndefined, openRegular } from "../native/safe-fs.js";
import { openDatabase } from "./sqlite-driver.js";

/** PRAGMA application_id of every index: "RSIX" in ASCII. */
export const APPLICATION_ID = 0x52534958;

/** Index files are never more readable than the state files they copy (0640): only their owner reads them. */
export const INDEX_FILE_MODE = 0o600;
export const INDEX_DIR_MODE = 0o700;

/** Where an index lives. */
export interface IndexPlace {
  /** The file is the default `<root>/.runsc-index/index.db`: the directory and all in it are ours. */
  readonly ownDirectory: boolean;
}

/** What claimIndexFile found: a file it just created, an empty one, or an index that is ours. */
export type Claim = "created" | "empty" | "ours";

const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");
const HEADER_BYTES = 100;
/** Offsets in SQLite's database header (https://www.sqlite.org/fileformat.html). */
const USER_VERSION_OFFSET = 60;
const APPLICATION_ID_OFFSET = 68;
const OUR_TABLES = ["containers", "invalid_files", "meta"];

/**
 * claimIndexFile checks the index's directory (creating it 0700 when
 * missing) and the file (creating it 0600 when missing).
 * Returns how it found the file. Throws ERR_INDEX_SCHEMA for a file that is
 * not a runsc-index database, ERR_IO naming the file or directory otherwise.
 */
export function claimIndexFile(file: string, place: IndexPlace): Claim {
  try {
    return claim(file, place);
  } catch (e) {
    throw withIndexHint(e);
  }
}

function claim(file: string, place: IndexPlace): Claim {
  checkIndexDirectory(path.dirname(file), place);
  checkSiblings(file);
  let st = lstatOrUndefined(file);
  if (st === undefined) {
    if (createIndexFile(file)) return "created";
    st = lstatOrUndefined(file); // another process created it first: judged like any existing file
    if (st === undefined) throw new RunscIndexError("ERR_IO", `index "${file}" vanished while being created`);
  }
  if (!st.isFile()) throw new RunscIndexError("ERR_IO", `index "${file}" is ${kindOf(st)}, not a regular file`);
  checkOwner("index", file, st);
  if (st.size === 0) return "empty";
  if (place.ownDirectory) return "ours";
  const header = readHeader(file);
  if (!header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) throw notOurs(file, "it is not a SQLite database");
  const applicationId = header.length >= HEADER_BYTES ? header.readUInt32BE(APPLICATION_ID_OFFSET) : 0;
  if (applicationId === APPLICATION_ID) return "ours";
  if (applicationId !== 0) throw notOurs(file, `its application_id is 0x${applicationId.toString(16)}`);
  if (hasOurTables(file, st.size)) return "ours";
  const userVersion = header.length >= HEADER_BYTES ? header.readInt32BE(USER_VERSION_OFFSET) : 0;
  throw notOurs(file, `it is another SQLite database (user_version ${userVersion}) without runsc-index's tables`);
}

/**
 * tightenIndexModes makes the index and its -wal/-shm 0600 when they are
 * more open (made by an older version, or under a loose umask by SQLite,
 * which gives -wal/-shm the database file's mode). Regular files only.
 */
export function tightenIndexModes(file: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    const st = lstatOrUndefined(file + suffix);
    if (st?.isFile() && (st.mode & 0o7777) !== INDEX_FILE_MODE && st.uid === process.geteuid?.()) {
      fs.chmodSync(file + suffix, INDEX_FILE_MODE);
    }
  }
}

/**
 * checkSiblings: SQLite opens -wal, -shm and -journal itself, following
 * symlinks; one planted there (or a file of another user's) is refused first.
 */
function checkSiblings(file: string): void {
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    const st = lstatOrUndefined(file + suffix);
    if (st === undefined) continue;
    if (!st.isFile())
      throw new RunscIndexError("ERR_IO", `index file "${file + suffix}" is ${kindOf(st)}, not a regular file`);
    checkOwner("index file", file + suffix, st);
  }
}

/** createIndexFile creates the file 0600; false when something appeared at the name meanwhile. */
function createIndexFile(file: string): boolean {
  try {
    fs.closeSync(createExclusive("index", file, INDEX_FILE_MODE));
    return true;
  } catch (e) {
    if (((e as Error).cause as { code?: unknown } | undefined)?.code === "EEXIST") return false;
    throw e;
  }
}

/** withIndexHint: a permission error says where else the index can go. */
function withIndexHint(e: unknown): unknown {
  const code = ((e as Error).cause as { code?: unknown } | undefined)?.code;
  if (!(e instanceof RunscIndexError) || (code !== "EACCES" && code !== "EPERM")) return e;
  return new RunscIndexError(
    e.code,
    `${e.message}; pass --index FILE (openStore's index) in a directory you may write`,
    {
      cause: e.cause,
    },
  );
}

/**
 * checkIndexDirectory: the directory must be a real directory owned by us
 * (or root) that nobody else may write; our own `.runsc-index` is created
 * 0700 whatever the umask, and is never a symlink. Throws ERR_IO naming it.
 */
function checkIndexDirectory(dir: string, place: IndexPlace): void {
  // The default directory's own name must not be a symlink; an explicit --index's directory may be reached through one (/var/run).
  let st = place.ownDirectory ? lstatOrUndefined(dir) : statOrUndefined(dir);
  if (st === undefined) {
    makeIndexDirectory(dir, place);
    st = lstatOrUndefined(dir);
    if (st === undefined) throw new RunscIndexError("ERR_IO", `index directory "${dir}" vanished while being created`);
  }
  if (!st.isDirectory()) throw new RunscIndexError("ERR_IO", `index directory "${dir}" is ${kindOf(st)}`);
  checkOwner("index directory", dir, st);
  // A sticky directory (/tmp) lets nobody replace our files; the file's own owner is checked too.
  const sticky = (st.mode & 0o1000) !== 0 && !place.ownDirectory;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    throw new RunscIndexError(
      "ERR_IO",
      `index directory "${dir}" is writable by ${(st.mode & 0o002) !== 0 ? "others" : "its group"} (mode ${(st.mode & 0o777).toString(8)}); make it 0700 or pass --index FILE in a directory of your own`,
    );
  }
}

function makeIndexDirectory(dir: string, place: IndexPlace): void {
  try {
    // The root itself must exist already for the default index (runsc or openStore made it).
    fs.mkdirSync(dir, { recursive: !place.ownDirectory, mode: INDEX_DIR_MODE });
    if (place.ownDirectory) fs.chmodSync(dir, INDEX_DIR_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return; // another process made it: checked next
    throw ioError("creating index directory", dir, e);
  }
}

/** checkOwner: only we or root may own the index and its directory (root's are trusted, as sshd's StrictModes does). */
function checkOwner(what: string, file: string, st: fs.Stats): void {
  const euid = process.geteuid?.();
  if (euid === undefined || st.uid === euid || st.uid === 0) return;
  throw new RunscIndexError(
    "ERR_IO",
    `${what} "${file}" is owned by uid ${st.uid}, not by you (uid ${euid}) or root; pass --index FILE in a directory of your own`,
  );
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw ioError("inspecting", file, e);
  }
}

function readHeader(file: string): Buffer {
  const fd = openRegular("index", file, fs.constants.O_RDONLY);
  if (fd === undefined) throw new RunscIndexError("ERR_IO", `index "${file}" vanished while being checked`);
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** An unmarked file larger than this is not read whole to look for our tables. */
const MAX_UNMARKED_BYTES = 1024 * 1024 * 1024;

/**
 * hasOurTables looks for our tables in an index the previous version made (no
 * application_id yet) without changing anything: it reads a copy into memory
 * (SQLite on the file itself could create -wal/-shm or run a checkpoint).
 */
function hasOurTables(file: string, size: number): boolean {
  if (size > MAX_UNMARKED_BYTES) return false;
  let db: BetterSqlite3.Database | undefined;
  try {
    const bytes = readWhole(file);
    // Bytes 18 and 19 say WAL (2); a copy in memory has no WAL: read it as a rollback-journal database.
    if (bytes.length >= HEADER_BYTES) bytes.fill(1, 18, 20);
    db = openDatabase(bytes, { readonly: true });
    const names = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
    return OUR_TABLES.every((t) => names.has(t));
  } catch {
    return false; // unreadable: not provably ours
  } finally {
    db?.close();
  }
}

function readWhole(file: string): Buffer {
  const fd = openRegular("index", file, fs.constants.O_RDONLY);
  if (fd === undefined) throw new RunscIndexError("ERR_IO", `index "${file}" vanished while being checked`);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function notOurs(file: string, why: string): RunscIndexError {
  return new RunscIndexError(
    "ERR_INDEX_SCHEMA",
    `index "${file}" is not a runsc-index database (${why}); refusing to change it: pass --index a new path or an index runsc-index made`,
  );
}
