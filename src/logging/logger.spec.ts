import { Writable } from 'node:stream';

import Fastify from 'fastify';

import { createRootLogger, redactUrl } from './logger';

describe('request logs', () => {
  it('never keep the token of an unsubscribe link', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const app = Fastify({ loggerInstance: createRootLogger('info', sink) });
    app.get('/u/:token', async () => 'unsubscribed');
    app.get('/api/things', async () => 'ok');
    try {
      await app.inject({ method: 'GET', url: '/u/eyJwIjoiYWJjIn0.c2lnbmF0dXJl?x=1' });
      await app.inject({ method: 'POST', url: '/u/eyJwIjoiYWJjIn0.c2lnbmF0dXJl' });
      await app.inject({ method: 'GET', url: '/api/things?cursor=abc' });
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(log).toContain('"url":"/u/[redacted]?x=1"');
    expect(log).toContain('"url":"/api/things?cursor=abc"');
    expect(log).not.toContain('eyJwIjoiYWJjIn0');
  });

  it('redacts only the unsubscribe path', () => {
    expect(redactUrl('/u/abc.def')).toBe('/u/[redacted]');
    expect(redactUrl('/users/abc')).toBe('/users/abc');
    expect(redactUrl('/api/u/abc')).toBe('/api/u/abc');
    const lines: string[] = [];
    const logger = createRootLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    logger.info('Route PUT:/u/secret-token not found');
    expect(lines.join('')).toContain('Route PUT:/u/[redacted] not found');
  });
});
