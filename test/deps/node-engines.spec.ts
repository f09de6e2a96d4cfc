import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { minVersion, satisfies } from 'semver';

/**
 * Personae documents Node.js 20.19 as its minimum (package.json engines, the quick start's check).
 * Every installed package must accept it, or `npm ci` warns with EBADENGINE, as it did 20 times
 * before three transitive packages were pinned (see "overrides" in package.json).
 */

interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockPackage>;
};

/** Needs Node 22, but only runs under `prisma dev` (Prisma's local database), which Personae never uses. */
const ALLOWED = new Set(['node_modules/@prisma/streams-local']);

describe('the documented Node.js version', () => {
  const minimum = minVersion(manifest.engines.node)?.version ?? '';

  it('is 20.19 in package.json', () => {
    expect(minimum).toBe('20.19.0');
  });

  it('is accepted by every package in the lock file', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== '' && !ALLOWED.has(path))
      .flatMap(([path, pkg]) => {
        const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
        return range !== undefined && !satisfies(minimum, range) ? [`${path}@${pkg.version} wants node ${range}`] : [];
      });
    expect(refusing).toEqual([]);
  });
});
