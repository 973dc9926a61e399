/**
 * Connecting to PostgreSQL for the export: secrets masked in every message,
 * libpq's environment (PGHOST, PGUSER, PGPASSWORD, ...) honoured by `pg`,
 * and the schema migrated by drizzle's node-postgres migrator under an
 * advisory lock, so hosts starting at once do not race each other.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { RunscIndexError } from "../errors.js";

/** Key of the advisory lock held while migrating (any constant unlikely to collide). */
const MIGRATION_LOCK_KEY = 0x72756e73; // "runs"
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * maskUrl hides the password of a postgres:// URL (user:***@) and any
 * password= parameter; other text is returned as is.
 */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^@/]*@/i, "$1:***@").replace(/([?&]password=)[^&]*/gi, "$1***");
}

/** maskSecrets removes the URL's password from a message (drivers echo parts of the URL back). */
export function maskSecrets(message: string, url: string | undefined): string {
  const secrets = new Set<string>();
  if (url) {
    try {
      const u = new URL(url);
      if (u.password) secrets.add(decodeURIComponent(u.password)).add(u.password);
      const p = u.searchParams.get("password");
      if (p) secrets.add(p);
    } catch {
      // not a URL: nothing of it is printed anyway
    }
    message = message.split(url).join(maskUrl(url));
  }
  for (const s of secrets) message = message.split(s).join("***");
  return message;
}

/** describeTarget names the database in messages: the masked URL, or libpq's environment. */
export function describeTarget(url: string | undefined): string {
  if (url) return maskUrl(url);
  const user = process.env.PGUSER ? `${process.env.PGUSER}@` : "";
  return `postgres://${user}${process.env.PGHOST ?? "localhost"}/${process.env.PGDATABASE ?? ""} (from PG* environment)`;
}

/** checkUrl accepts a postgres:// or postgresql:// URL (or none: libpq's environment). Throws ERR_INVALID_ARGUMENT. */
export function checkUrl(url: string | undefined): void {
  if (url === undefined || url === "") return;
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new RunscIndexError(
      "ERR_INVALID_ARGUMENT",
      `export target "${maskUrl(url)}" is not a postgres:// or postgresql:// URL`,
    );
  }
}

/**
 * connectPg opens one connection. Errors after connecting are handed to
 * onError (pg would otherwise crash the process). Throws ERR_IO with the
 * secrets masked.
 */
export async function connectPg(url: string | undefined, onError: (e: Error) => void): Promise<pg.Client> {
  checkUrl(url);
  const { default: driver } = await import("pg"); // ~100 ms to load: only for commands that export
  const client = new driver.Client({
    ...(url ? { connectionString: url } : {}),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: "runsc-index",
  });
  client.on("error", onError);
  try {
    await client.connect();
    return client;
  } catch (e) {
    await client.end().catch(() => {});
    throw pgError(`connecting to ${describeTarget(url)}`, e, url);
  }
}

/** pgError wraps a driver error as ERR_IO, naming what we did, with secrets masked. */
export function pgError(doing: string, e: unknown, url: string | undefined): RunscIndexError {
  const message = e instanceof Error ? e.message : String(e);
  return new RunscIndexError("ERR_IO", maskSecrets(`${doing}: ${message}`, url));
}

/** migratePg brings the export schema up to date (migrations/pg), one host at a time. */
export async function migratePg(client: pg.Client): Promise<void> {
  const { drizzle } = await import("drizzle-orm/node-postgres");
  const { migrate } = await import("drizzle-orm/node-postgres/migrator");
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await migrate(drizzle(client), { migrationsFolder: pgMigrationsFolder() });
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}

/** pgMigrationsFolder finds migrations/pg above this file (src/export or dist/src/export). */
export function pgMigrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "migrations", "pg", "meta", "_journal.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("runsc-index: the migrations/pg/ folder is missing from the package");
    dir = parent;
  }
  return path.join(dir, "migrations", "pg");
}
