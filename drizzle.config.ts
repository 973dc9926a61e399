import { defineConfig } from "drizzle-kit";

// drizzle-kit reads the schema and writes SQL migrations into migrations/,
// which ship with the package and are applied by src/index/migrate.ts on open.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/index/schema.ts",
  out: "./migrations",
});
