import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import type { IdentitySettings } from '../identity/identity-settings';
import { WorkspaceSettingsService } from '../workspace-settings/workspace-settings.service';
import { SourceRow, WorkspacesRepository } from '../workspaces/workspaces.repository';
import { SOURCE_CACHE_TTL_MS, TrackingSettings, UNKNOWN_SOURCE_CACHE_TTL_MS } from './tracking-settings';

/** A source a write key belongs to, with the settings of its workspace. */
export interface SourceContext {
  sourceId: string;
  workspaceId: string;
  identity: IdentitySettings;
  tracking: TrackingSettings;
  /** `strict`: one invalid message refuses the whole request. */
  validation: SourceRow['validation'];
}

/** Write keys are ours (`wk_` + 32 characters); no longer key, and nothing but visible ASCII, can be one. */
export const MAX_WRITE_KEY_LENGTH = 128;
const WRITE_KEY = /^[\x21-\x7e]+$/;

/** At most this many write keys, known or not, are remembered. */
export const SOURCE_CACHE_ENTRIES = 10_000;

export function isPlausibleWriteKey(writeKey: string): boolean {
  return writeKey.length <= MAX_WRITE_KEY_LENGTH && WRITE_KEY.test(writeKey);
}

/**
 * Write key → source, cached in memory for a few seconds: every tracking call needs it, and two
 * queries per request would cost more than the insert. Concurrent misses share one lookup. The
 * cache is a bounded LRU with expiry, so random keys (an attack, a misconfigured client) cost at
 * most SOURCE_CACHE_ENTRIES short entries, never memory for good.
 */
@Injectable()
export class SourceResolverService {
  private readonly cache = new LRUCache<string, Promise<SourceContext | null>>({
    max: SOURCE_CACHE_ENTRIES,
    ttl: SOURCE_CACHE_TTL_MS,
    // Expired entries are dropped when met; the bound on entries is what caps memory.
    ttlAutopurge: false,
  });

  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly settings: WorkspaceSettingsService,
  ) {}

  /** Entries held now (expired ones included until met or evicted). */
  get cachedEntries(): number {
    return this.cache.size;
  }

  async resolve(writeKey: string): Promise<SourceContext | null> {
    if (!isPlausibleWriteKey(writeKey)) return null;
    const cached = this.cache.get(writeKey);
    if (cached) return cached;
    const value = this.load(() => this.workspaces.findSourceByWriteKey(writeKey));
    this.cache.set(writeKey, value);
    try {
      const source = await value;
      // An unknown key is remembered for less time, so a key created a moment ago soon works.
      if (!source && this.cache.get(writeKey) === value) {
        this.cache.set(writeKey, value, { ttl: UNKNOWN_SOURCE_CACHE_TTL_MS });
      }
      return source;
    } catch (error) {
      if (this.cache.peek(writeKey) === value) this.cache.delete(writeKey);
      throw error;
    }
  }

  /** A source of the workspace by id, uncached (replays from the quarantine). */
  async byId(workspaceId: string, sourceId: string): Promise<SourceContext | null> {
    return this.load(() => this.workspaces.findSource(workspaceId, sourceId));
  }

  private async load(find: () => Promise<SourceRow | null>): Promise<SourceContext | null> {
    const source = await find();
    if (!source) return null;
    // Settings that do not fit their schema are logged there and replaced by their defaults.
    const { identity, tracking } = await this.settings.effective(source.workspaceId);
    return { sourceId: source.id, workspaceId: source.workspaceId, identity, tracking, validation: source.validation };
  }
}
