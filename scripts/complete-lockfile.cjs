#!/usr/bin/env node
/**
 * Some npm registry mirrors lack the native builds of other platforms (a macOS or Windows build of
 * @swc/core, say). npm then writes a package-lock.json without those optional packages, and `npm ci`
 * refuses the lock as out of sync. This adds the missing optional platform packages back, with the
 * os/cpu/libc constraints their names state, so `npm ci` skips them here as it would anywhere else.
 * Run it after `npm install` changes the lock: `node scripts/complete-lockfile.cjs`.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'];

function constraints(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  const libc = parts.find((p) => p === 'gnu' || p === 'musl' || p.startsWith('gnueabi') || p.startsWith('musleabi'));
  if (!os || !cpu) return undefined;
  return {
    os: [os],
    cpu: [cpu],
    ...(os === 'linux' && libc ? { libc: [libc.startsWith('musl') ? 'musl' : 'glibc'] } : {}),
  };
}

const path = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(path, 'utf8'));
const added = [];
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    if (lock.packages[`node_modules/${name}`] || lock.packages[nested]) continue;
    const platform = constraints(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) {
      console.warn(`left alone: ${name}@${version} (needed by ${location})`);
      continue;
    }
    lock.packages[`node_modules/${name}`] = { version, ...platform, optional: true };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} optional platform packages` : 'lock file already complete');
