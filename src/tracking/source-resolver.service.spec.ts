import { randomBytes } from 'node:crypto';

import { AppConfig } from '../config/app-config';
import { WorkspaceSettingsRepository } from '../workspace-settings/workspace-settings.repository';
import { WorkspaceSettingsService } from '../workspace-settings/workspace-settings.service';
import { SourceRow, WorkspacesRepository } from '../workspaces/workspaces.repository';
import { MAX_WRITE_KEY_LENGTH, SOURCE_CACHE_ENTRIES, SourceResolverService } from './source-resolver.service';

/** In-memory stand-ins for the two lookups; this tier tests the cache, not the queries. */
function resolverWith(sources: SourceRow[]): { resolver: SourceResolverService; lookups: () => number } {
  let lookups = 0;
  const workspaces = {
    findSourceByWriteKey: async (writeKey: string) => {
      lookups += 1;
      return sources.find((source) => source.writeKey === writeKey) ?? null;
    },
  } as unknown as WorkspacesRepository;
  const config = Object.assign(new AppConfig(), {
    TRACKING_RATE_LIMIT_PER_SECOND: 7,
    TRACKING_RATE_LIMIT_BYTES_PER_SECOND: 9,
  });
  const stored = { find: async () => ({ settings: {} }) } as unknown as WorkspaceSettingsRepository;
  const settings = new WorkspaceSettingsService(stored, config);
  return { resolver: new SourceResolverService(workspaces, settings), lookups: () => lookups };
}

const known: SourceRow = {
  id: '00000000-0000-4000-8000-000000000001',
  workspaceId: '00000000-0000-4000-8000-000000000002',
  name: 'Web',
  writeKey: 'wk_known',
  validation: 'lenient',
  createdAt: new Date(),
};

describe('SourceResolverService', () => {
  it('keeps at most SOURCE_CACHE_ENTRIES keys under 100,000 random unknown keys', async () => {
    const { resolver } = resolverWith([known]);
    let largest = 0;
    for (let i = 0; i < 100_000; i += 1) {
      expect(await resolver.resolve(`wk_${randomBytes(24).toString('base64url')}`)).toBeNull();
      largest = Math.max(largest, resolver.cachedEntries);
    }
    expect(largest).toBe(SOURCE_CACHE_ENTRIES);
    expect((await resolver.resolve('wk_known'))?.sourceId).toBe(known.id);
  });

  it('refuses a write key that is too long or not visible ASCII without a lookup or a cache entry', async () => {
    const { resolver, lookups } = resolverWith([known]);
    for (const key of ['k'.repeat(MAX_WRITE_KEY_LENGTH + 1), 'k'.repeat(400 * 1024), 'wk_\u0000', 'wk_ü', 'wk known']) {
      expect(await resolver.resolve(key)).toBeNull();
    }
    expect(lookups()).toBe(0);
    expect(resolver.cachedEntries).toBe(0);
  });

  it('shares one lookup among concurrent misses and takes rate limits from the configuration', async () => {
    const { resolver, lookups } = resolverWith([known]);
    const results = await Promise.all(Array.from({ length: 5 }, () => resolver.resolve('wk_known')));
    expect(lookups()).toBe(1);
    expect(results[0]?.tracking).toEqual({ rateLimitPerSecond: 7, bytesPerSecond: 9 });
  });
});
