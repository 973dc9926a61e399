/**
 * Opening the index database: pragmas, drizzle migrations, and the rules for
 * indexes we cannot use. A missing, corrupt or half-migrated index is deleted
 * and recreated empty (the caller then rebuilds it from the files); one from
 * a newer schema is refused with ERR_INDEX_SCHEMA and never written to.
 *
 * Only a file that is provably ours is ever opened for writing, rebuilt or
 * deleted (see index-file.ts): `--index` may name any file, and we run as root.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import { RunscIndexError } from "../errors.js";
import { tryAcquireLock } from "../lock/flock.js";
import type { HeldLock } from "../lock/held-lock.js";
import { ioError, removeRegular } from "../native/safe-fs.js";
import { APPLICATION_ID, claimIndexFile, type IndexPlace, tightenIndexModes } from "./index-file.js";
import { openDatabase } from "./sqlite-driver.js";

/** The subset of better-sqlite3's Database that the index uses. */
export type SqliteDatabase = BetterSqlite3.Database;

/**
 * PRAGMA user_version after our migrations: one per file in migrations/
 * (a test checks it against drizzle-kit's journal). An index with a larger
 * number was made by a newer runsc-index.
 */
export const SCHEMA_VERSION = 2;

/** WAL: readers (lookups in other processes) never wait for a writer. */
const JOURNAL_MODE = "WAL";
/** NORMAL is durable across process crashes in WAL; the index can be rebuilt after a power loss. */
const SYNCHRONOUS = "NORMAL";
/** A writer waits this long for another writer before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;
/** The index never needs more than this much page cache. */
const CACHE_SIZE_KIB = 8_192;

const REQUIRED_OBJECTS = ["containers", "invalid_files", "meta", "sandboxes"];

export interface OpenedDatabase {
  readonly db: SqliteDatabase;
  /** True when the file was created or recreated: the caller must rebuild it from the files. */
  readonly fresh: boolean;
}

/**
 * openIndexDatabase opens (creating or repairing) the index at `file`, after
 * checking that the file and its directory are ours (index-file.ts).
 * Throws ERR_INDEX_SCHEMA for an index from a newer schema or a file that is
 * not a runsc-index database, ERR_IO naming the file or directory (planted
 * symlink or FIFO, unsafe owner or mode, full or read-only disk).
 */
export function openIndexDatabase(file: string, place: IndexPlace = { ownDirectory: false }): OpenedDatabase {
  const claim = claimIndexFile(file, place);
  const ready = claim === "created" ? undefined : openIfReady(file);
  if (ready !== undefined) return { db: ready, fresh: false };
  try {
    const guard = lockIndexDirectory(file);
    try {
      try {
        const db = openAndMigrate(file);
        return { db, fresh: claim === "created" || claim === "empty" };
      } catch (e) {
        if (!isUnusableIndex(e)) throw e;
        removeDatabaseFiles(file);
        claimIndexFile(file, place);
        return { db: openAndMigrate(file), fresh: true };
      }
    } finally {
      guard.release();
    }
  } catch (e) {
    if (e instanceof RunscIndexError) throw e;
    // A read-only or full file system, permissions: nothing a rebuild can fix.
    throw ioError("opening index", file, isFull(file) ? fullDisk(e) : e);
  }
}

/** isFull: the index's file system has no block left (SQLite reports that as a disk I/O error). */
function isFull(file: string): boolean {
  try {
    return fs.statfsSync(path.dirname(file)).bavail === 0;
  } catch {
    return false;
  }
}

function fullDisk(e: unknown): Error {
  return Object.assign(new Error(`${(e as Error).message}: no space left`, { cause: e }), { code: "ENOSPC" });
}

/**
 * openMemoryIndexDatabase makes an empty index in memory, for a read-only
 * store whose root has no index (or one it may not open): reads then answer
 * from the files and leave nothing behind.
 */
export function openMemoryIndexDatabase(): SqliteDatabase {
  const db = openDatabase(":memory:");
  db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
  runDrizzleMigrations(db);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  return db;
}

/**
 * openIfReady is the common case without the open lock (and so without
 * loading the FFI it needs): an index already at our schema version. Anything
 * else (missing, older, newer, damaged) takes the locked path.
 */
function openIfReady(file: string): SqliteDatabase | undefined {
  if (!fs.existsSync(file)) return undefined;
  let db: SqliteDatabase | undefined;
  try {
    db = openDatabase(file);
    if (db.pragma("user_version", { simple: true }) !== SCHEMA_VERSION) throw new Error("not at our version");
    if (db.pragma("application_id", { simple: true }) !== APPLICATION_ID) throw new Error("not marked ours yet");
    applyPragmas(db);
    checkSchemaObjects(db, file);
    tightenIndexModes(file);
    return db;
  } catch {
    db?.close();
    return undefined;
  }
}

function applyPragmas(db: SqliteDatabase): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(`journal_mode = ${JOURNAL_MODE}`);
  db.pragma(`synchronous = ${SYNCHRONOUS}`);
  db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
}

/** openReadonlyDatabase opens the index for ad-hoc SQL: no write can reach the file. */
export function openReadonlyDatabase(file: string): SqliteDatabase {
  const db = openDatabase(file, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma("query_only = ON");
  // LIKE 'x%' is then case-sensitive, as IDs are, and can use the primary key.
  db.pragma("case_sensitive_like = ON");
  return db;
}

/** openSnapshotBytes opens a serialized index (SqliteDatabase.serialize()) as a read-only connection for ad-hoc SQL. */
export function openSnapshotBytes(bytes: Uint8Array): SqliteDatabase {
  const db = openDatabase(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { readonly: true });
  db.pragma("query_only = ON");
  db.pragma("case_sensitive_like = ON");
  return db;
}

function openAndMigrate(file: string): SqliteDatabase {
  const db = openDatabase(file);
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw newerSchema(file, version);
    // Mark the file ours first, before WAL mode: written to the file itself, the
    // mark is what another process's check (index-file.ts) reads while we migrate.
    if (db.pragma("application_id", { simple: true }) !== APPLICATION_ID) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    applyPragmas(db);
    if (version < SCHEMA_VERSION) {
      runDrizzleMigrations(db);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    checkSchemaObjects(db, file);
    tightenIndexModes(file);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * drizzle-orm takes ~70 ms to import, more than a whole `runsc-index find`
 * may spend, so it is loaded only when a migration is due.
 */
function runDrizzleMigrations(db: SqliteDatabase): void {
  const require = createRequire(import.meta.url);
  const { drizzle } = require("drizzle-orm/better-sqlite3") as typeof import("drizzle-orm/better-sqlite3");
  const { migrate } =
    require("drizzle-orm/better-sqlite3/migrator") as typeof import("drizzle-orm/better-sqlite3/migrator");
  migrate(drizzle(db), { migrationsFolder: migrationsFolder() });
}

function checkSchemaObjects(db: SqliteDatabase, file: string): void {
  const names = new Set((db.prepare("SELECT name FROM sqlite_schema").all() as { name: string }[]).map((r) => r.name));
  const missing = REQUIRED_OBJECTS.filter((n) => !names.has(n));
  if (missing.length > 0) throw new HalfMigratedError(`index "${file}" lacks ${missing.join(", ")}`);
}

class HalfMigratedError extends Error {}

function newerSchema(file: string, version: number): RunscIndexError {
  return new RunscIndexError(
    "ERR_INDEX_SCHEMA",
    `opening index "${file}": schema version ${version} is newer than this runsc-index's ${SCHEMA_VERSION}; upgrade runsc-index or pass another --index`,
  );
}

/** Errors after which the file is not an index we can use, and can be recreated. */
function isUnusableIndex(e: unknown): boolean {
  if (e instanceof HalfMigratedError) return true;
  if (!(e instanceof Error)) return false;
  // drizzle's migrator wraps SQLite's error in one without a code.
  if ((e as { code?: unknown }).code === undefined && e.cause !== undefined) return isUnusableIndex(e.cause);
  const code = (e as { code?: unknown }).code;
  // Not CANTOPEN or READONLY: a good index on a read-only file system must be kept.
  if (typeof code === "string" && /^SQLITE_(NOTADB|CORRUPT|IOERR_SHORT_READ)/.test(code)) return true;
  // A migration that finds its tables already there: a half-migrated index.
  return typeof code === "string" && code.startsWith("SQLITE_") && /already exists|no such table/.test(e.message);
}

/**
 * removeDatabaseFiles deletes an index the caller proved ours, with its
 * SQLite siblings. Throws ERR_IO naming any that is not a regular file.
 */
export function removeDatabaseFiles(file: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) removeRegular("index file", file + suffix);
}

/**
 * Opening and migrating happen under a flock on a file beside the index, so
 * two processes never migrate or recreate the same index at once. Held for
 * milliseconds, so a short synchronous wait is acceptable here.
 */
function lockIndexDirectory(file: string): HeldLock {
  const lockPath = `${file}.open.lock`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const lock = tryAcquireLock(lockPath);
    if (lock !== "busy") return lock;
    if (Date.now() > deadline)
      throw new RunscIndexError("ERR_LOCK_TIMEOUT", `opening index "${file}": ${lockPath} stays locked`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

let migrationsDir: string | undefined;

/** migrationsFolder finds migrations/ at the package root, from src/ or dist/src/. */
export function migrationsFolder(): string {
  if (migrationsDir !== undefined) return migrationsDir;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "migrations", "meta", "_journal.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("runsc-index: the migrations/ folder is missing from the package");
    dir = parent;
  }
  migrationsDir = path.join(dir, "migrations");
  return migrationsDir;
}
