import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from './app-config';
import { envFileFor } from './env-file';

describe('envFileFor', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'personae-env-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .env in the working directory when ENV_FILE is unset', () => {
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=postgresql://x@h/personae\n');
    expect(envFileFor({}, dir)).toBe(join(dir, '.env'));
  });

  it('reads nothing when there is no .env', () => {
    expect(envFileFor({}, dir)).toBeUndefined();
  });

  it('reads nothing with ENV_FILE=none, even when .env exists', () => {
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=postgresql://x@h/personae\n');
    expect(envFileFor({ ENV_FILE: 'none' }, dir)).toBeUndefined();
  });

  it('reads the file ENV_FILE names, relative to the working directory', () => {
    writeFileSync(join(dir, 'staging.env'), 'PORT=1\n');
    expect(envFileFor({ ENV_FILE: 'staging.env' }, dir)).toBe(join(dir, 'staging.env'));
  });

  it('refuses an ENV_FILE that does not exist, naming it', () => {
    expect(() => envFileFor({ ENV_FILE: 'missing.env' }, dir)).toThrow(ConfigError);
    expect(() => envFileFor({ ENV_FILE: 'missing.env' }, dir)).toThrow(/ENV_FILE names .*missing\.env/);
  });
});
