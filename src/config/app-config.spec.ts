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

  it('reads the demo switch', () => {
    expect(loadConfig(valid).PERSONAE_DEMO).toBe(false);
    expect(loadConfig({ ...valid, PERSONAE_DEMO: '1' }).PERSONAE_DEMO).toBe(true);
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
    ['PERSONAE_DEMO', 'yes', 'PERSONAE_DEMO must be 1, 0, true or false'],
    ['DEMO_MAIL_PORT', '0', 'DEMO_MAIL_PORT must be between 1 and 65535'],
    ['DATABASE_POOL_SIZE', '0', 'DATABASE_POOL_SIZE must be at least 1'],
    ['INTERACTIVE_POOL_SIZE', 'four', 'INTERACTIVE_POOL_SIZE must be an integer'],
    ['INTERACTIVE_QUERIES_PER_WORKSPACE', '0', 'INTERACTIVE_QUERIES_PER_WORKSPACE must be at least 1'],
    ['INTERACTIVE_STATEMENT_TIMEOUT_MS', '5', 'INTERACTIVE_STATEMENT_TIMEOUT_MS must be at least 10'],
    ['COMPUTE_STATEMENT_TIMEOUT_MS', '1.5', 'COMPUTE_STATEMENT_TIMEOUT_MS must be an integer'],
  ])('rejects a malformed %s with a message naming it', (name, value, message) => {
    expect(problemsOf({ ...valid, [name]: value })).toEqual([message]);
  });

  it('reads the demo switch and its mail sink port', () => {
    expect(loadConfig(valid)).toMatchObject({ PERSONAE_DEMO: false, DEMO_MAIL_PORT: 1025 });
    for (const on of ['1', 'true', 'TRUE'])
      expect(loadConfig({ ...valid, PERSONAE_DEMO: on }).PERSONAE_DEMO).toBe(true);
    for (const off of ['0', 'false']) expect(loadConfig({ ...valid, PERSONAE_DEMO: off }).PERSONAE_DEMO).toBe(false);
    expect(loadConfig({ ...valid, DEMO_MAIL_PORT: '2525' }).DEMO_MAIL_PORT).toBe(2525);
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

describe('tracking settings in the configuration', () => {
  const base = {
    DATABASE_URL: 'postgresql://x@localhost/db',
    REDIS_URL: 'redis://localhost',
    ADMIN_TOKEN: 'a'.repeat(16),
  };

  it('reads TRUST_PROXY as Fastify takes it, off by default', () => {
    expect(loadConfig(base).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ ...base, TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, ::1, loopback' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '::1',
      'loopback',
    ]);
    for (const bad of ['yes', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1']) {
      expect(() => loadConfig({ ...base, TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be true, false, a hop count/);
    }
  });

  it('reads the default ingest rate limits', () => {
    expect(loadConfig(base)).toMatchObject({
      TRACKING_RATE_LIMIT_PER_SECOND: 5_000,
      TRACKING_RATE_LIMIT_BYTES_PER_SECOND: 10_000_000,
    });
    expect(loadConfig({ ...base, TRACKING_RATE_LIMIT_PER_SECOND: '20' }).TRACKING_RATE_LIMIT_PER_SECOND).toBe(20);
    expect(() => loadConfig({ ...base, TRACKING_RATE_LIMIT_BYTES_PER_SECOND: '0' })).toThrow(
      /TRACKING_RATE_LIMIT_BYTES_PER_SECOND must be at least 1/,
    );
  });
});

describe('destination and operations settings', () => {
  it('has safe defaults', () => {
    expect(loadConfig(valid)).toMatchObject({
      DESTINATION_ALLOWED_NETWORKS: '',
      AUTH_FAILURE_LIMIT: 30,
      METRICS_COLLECT_INTERVAL_MS: 5_000,
      TEMPLATE_RENDER_THREADS: 1,
      TEMPLATE_RENDER_TIMEOUT_MS: 250,
      EMAIL_DELIVERIES_PER_CONNECTION: 10,
      WEBHOOK_CONCURRENCY: 10,
    });
  });

  it('accepts a list of CIDR ranges and refuses anything else', () => {
    expect(loadConfig({ ...valid, DESTINATION_ALLOWED_NETWORKS: '127.0.0.0/8, ::1/128' })).toBeDefined();
    expect(problemsOf({ ...valid, DESTINATION_ALLOWED_NETWORKS: '127.0.0.1,localhost' })).toEqual([
      'DESTINATION_ALLOWED_NETWORKS must be a comma-separated list of CIDR ranges, e.g. 127.0.0.0/8,::1/128',
    ]);
    expect(problemsOf({ ...valid, METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN must be at least 16 characters']);
    expect(problemsOf({ ...valid, WEBHOOK_CONCURRENCY: '0' })).toEqual([
      'WEBHOOK_CONCURRENCY must be between 1 and 200',
    ]);
  });
});
