const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * NestJS 12 and some of its dependencies ship ES modules only. Node runs them from our CommonJS
 * build through require(esm), but Jest's module loader cannot (before Node 24.9), so Jest compiles
 * exactly those packages to CommonJS. They are found by their package.json rather than listed by hand.
 */
function esmPackages(root = join(__dirname, 'node_modules')) {
  const names = [];
  for (const entry of readdirSync(root)) {
    if (entry.startsWith('.')) continue;
    const candidates = entry.startsWith('@') ? readdirSync(join(root, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of candidates) {
      try {
        if (JSON.parse(readFileSync(join(root, name, 'package.json'), 'utf8')).type === 'module') names.push(name);
      } catch {
        // not a package
      }
    }
  }
  return names;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
};

/** What every tier shares: SWC, the ES-module packages compiled, per-file timeouts and child clean-up. */
const common = {
  rootDir: __dirname,
  // Node's, with every timeout stretched by the machine's load (test/support/time-scale.ts).
  testEnvironment: '<rootDir>/test/support/test-environment.ts',
  transform: { '^.+\\.(t|m?j)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escape).join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
};

/**
 * Three tiers (docs/development.md): `unit` tests are pure and sit next to the code; `integration`
 * tests run services and repositories on a real database without HTTP; `e2e` tests start the whole
 * application. `npx jest --selectProjects integration` (or `npm run test:integration`) runs one tier.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/src', '<rootDir>/test'], testMatch: ['**/*.spec.ts'] },
    { ...common, displayName: 'integration', roots: ['<rootDir>/test'], testMatch: ['**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', roots: ['<rootDir>/test'], testMatch: ['**/*.e2e-spec.ts'] },
  ],
  // One run: its id in every database, Redis prefix and child process; everything removed at the end.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Every test file works in its own database and Redis prefix, so files run in parallel safely.
  maxWorkers: process.env.JEST_MAX_WORKERS ?? 2,
  // On a quiet machine; stretched by the load (test/support/test-environment.ts).
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
