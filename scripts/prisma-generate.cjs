#!/usr/bin/env node
// `prisma generate` needs no schema engine, but the CLI looks for one and tries to download it when
// none is configured. Where that download is impossible, point it at any executable (Node itself).
const { spawnSync } = require('node:child_process');
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], { env, stdio: 'inherit' });
process.exit(result.status ?? 1);
