import { defineConfig } from 'prisma/config';

// The CLI reads the connection from here; the running service passes its own URL to @prisma/adapter-pg.
// `prisma generate` needs no database, so a missing DATABASE_URL is fine for it.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/personae' },
});
