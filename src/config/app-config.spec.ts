import { ConfigError, loadConfig, loadDatabaseConfig } from './app-config';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/personae',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ADMIN_TOKEN: 'a-long-enough-admin-token',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('accepts a minimal environment and fills defaults', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({ PORT: 3000, ROLE: 'all', QUEUE_PREFIX: 'personae', LOG_LEVEL: 'info' });
    expect(config.publicUrl).toBe('http://localhost:3000');
  });

  it('converts numbers and keeps given values', () => {
    const config = loadConfig({ ...valid, PORT: '8080', ROLE: 'worker', SMTP_URL: 'smtp://localhost:1025' });
    expect(config.PORT).toBe(8080);
    expect(config.ROLE).toBe('worker');
    expect(config.SMTP_URL).toBe('smtp://localhost:1025');
  });

  it.each(['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN'] as const)('names %s when it is missing', (name) => {
    const problems = problemsOf({ ...valid, [name]: undefined });
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${name} is required`))]);
  });

  it('treats an empty value as missing', () => {
    expect(problemsOf({ ...valid, DATABASE_URL: '' })).toEqual([expect.stringMatching(/^DATABASE_URL is required/)]);
  });

  it.each([
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must be a postgresql:// URL'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a redis:// or rediss:// URL'],
    ['ADMIN_TOKEN', 'short', 'ADMIN_TOKEN must be at least 16 characters'],
    ['PORT', 'eighty', 'PORT must be an integer'],
    ['PORT', '70000', 'PORT must be between 0 and 65535'],
    ['ROLE', 'scheduler', 'ROLE must be one of api, worker, all'],
    ['SMTP_URL', 'http://mail', 'SMTP_URL must be an smtp:// or smtps:// URL'],
    ['QUEUE_PREFIX', 'has:colon', 'QUEUE_PREFIX may only contain letters, digits, _, -, { and }'],
    ['DATABASE_POOL_SIZE', '0', 'DATABASE_POOL_SIZE must be at least 1'],
    ['INTERACTIVE_POOL_SIZE', 'four', 'INTERACTIVE_POOL_SIZE must be an integer'],
    ['INTERACTIVE_QUERIES_PER_WORKSPACE', '0', 'INTERACTIVE_QUERIES_PER_WORKSPACE must be at least 1'],
    ['INTERACTIVE_STATEMENT_TIMEOUT_MS', '5', 'INTERACTIVE_STATEMENT_TIMEOUT_MS must be at least 10'],
    ['COMPUTE_STATEMENT_TIMEOUT_MS', '1.5', 'COMPUTE_STATEMENT_TIMEOUT_MS must be an integer'],
  ])('rejects a malformed %s with a message naming it', (name, value, message) => {
    expect(problemsOf({ ...valid, [name]: value })).toEqual([message]);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ PORT: 'x' });
    expect(problems).toHaveLength(4);
    expect(new ConfigError(problems).message).toMatch(/^Invalid configuration:\n {2}- /);
  });

  it('gives the connection budgets and time limits their defaults', () => {
    expect(loadConfig(valid)).toMatchObject({
      DATABASE_POOL_SIZE: 10,
      INTERACTIVE_POOL_SIZE: 4,
      INTERACTIVE_QUERIES_PER_WORKSPACE: 2,
      INTERACTIVE_STATEMENT_TIMEOUT_MS: 15_000,
      COMPUTE_STATEMENT_TIMEOUT_MS: 600_000,
    });
  });

  it('lets the CLI start with only DATABASE_URL', () => {
    expect(loadDatabaseConfig({ DATABASE_URL: valid.DATABASE_URL }).DATABASE_URL).toBe(valid.DATABASE_URL);
    expect(() => loadDatabaseConfig({})).toThrow(/DATABASE_URL is required/);
  });
});
