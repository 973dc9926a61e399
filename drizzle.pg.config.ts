import { defineConfig } from "drizzle-kit";

// The fleet export's PostgreSQL schema: its own migrations in migrations/pg/,
// applied by src/export/pg-connection.ts with drizzle's node-postgres migrator.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/export/pg-schema.ts",
  out: "./migrations/pg",
});
