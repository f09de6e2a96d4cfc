#!/usr/bin/env node
// Creates the database named in DATABASE_URL when it does not exist yet (first run of the quick start).
const { Client } = require('pg');

async function main() {
  const target = new URL(process.env.DATABASE_URL);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[\w-]+$/.test(name)) throw new Error(`unexpected database name "${name}"`);
  const server = new URL(target);
  server.pathname = '/postgres';
  const client = new Client({ connectionString: server.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`could not prepare the database: ${error.message}`);
  process.exit(1);
});
