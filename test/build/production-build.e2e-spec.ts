/**
 * What `npm run build` compiles into dist/: only production code. Test oracles (test/oracles/) and
 * specs must never ship, so a production import of one fails here, as well as in lint and the build.
 */
import { execFile } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(__dirname, '../..');

async function productionFiles(): Promise<string[]> {
  const tsc = require.resolve('typescript/bin/tsc');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--listFilesOnly'],
    { cwd: root, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 32 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.includes('/node_modules/'))
    .map((file) => relative(root, file));
}

describe('the production build', () => {
  it('compiles only src/, and no spec or test oracle', async () => {
    const files = await productionFiles();
    expect(files).toContain('src/main.ts');
    expect(files).toContain('src/audiences/language/compiler/audience-compiler.ts');
    expect(files.filter((file) => !file.startsWith('src/'))).toEqual([]);
    const oracle = /\.spec\.ts$|(reference-evaluator|funnel-reference|audience-arbitrary)\.ts$/;
    expect(files.filter((file) => oracle.test(file))).toEqual([]);
  });
});
