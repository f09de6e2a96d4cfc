import { Injectable } from '@nestjs/common';
import type { IdentitySettings } from '../identity/identity-settings';
import { WorkspaceSettingsService } from '../workspace-settings/workspace-settings.service';
import { WorkspacesRepository } from '../workspaces/workspaces.repository';
import { SOURCE_CACHE_TTL_MS, TrackingSettings, UNKNOWN_SOURCE_CACHE_TTL_MS } from './tracking-settings';

/** A source a write key belongs to, with the settings of its workspace. */
export interface SourceContext {
  sourceId: string;
  workspaceId: string;
  identity: IdentitySettings;
  tracking: TrackingSettings;
}

interface CacheEntry {
  value: Promise<SourceContext | null>;
  expiresAt: number;
}

const MAX_ENTRIES = 10_000;

/**
 * Write key → source, cached in memory for a few seconds: every tracking call needs it, and two
 * queries per request would cost more than the insert. Concurrent misses share one lookup.
 */
@Injectable()
export class SourceResolverService {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly settings: WorkspaceSettingsService,
  ) {}

  async resolve(writeKey: string): Promise<SourceContext | null> {
    const now = Date.now();
    const cached = this.cache.get(writeKey);
    if (cached && cached.expiresAt > now) return cached.value;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const value = this.load(writeKey);
    const entry: CacheEntry = { value, expiresAt: now + SOURCE_CACHE_TTL_MS };
    this.cache.set(writeKey, entry);
    try {
      const source = await value;
      if (!source) entry.expiresAt = now + UNKNOWN_SOURCE_CACHE_TTL_MS;
      return source;
    } catch (error) {
      this.cache.delete(writeKey);
      throw error;
    }
  }

  private async load(writeKey: string): Promise<SourceContext | null> {
    const source = await this.workspaces.findSourceByWriteKey(writeKey);
    if (!source) return null;
    // Settings that do not fit their schema are logged there and replaced by their defaults.
    const { identity, tracking } = await this.settings.effective(source.workspaceId);
    return { sourceId: source.id, workspaceId: source.workspaceId, identity, tracking };
  }
}
