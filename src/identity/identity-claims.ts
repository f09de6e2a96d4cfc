import { LRUCache } from 'lru-cache';

import { Identifier, identifierKey } from './identifiers';

/** A claim the caller holds until its write is done, or what it must wait for before reading again. */
export type ClaimAttempt = { release: () => void } | { busy: Promise<void> };

/** Releases remembered; far more than the identities a process creates while one read is in flight. */
const REMEMBERED_RELEASES = 20_000;

/**
 * Identities this process is creating right now. Two requests that see the same new person at the
 * same time would both plan to create it, and one would lose in the database and write its whole
 * batch again; early in a busy stream that was a third of all writes. A request claims the
 * identities it creates, or waits for the request creating them and then resolves again (and
 * finds them); it also resolves again when one of them was created after its read began.
 *
 * Claims are all or nothing and taken before any database lock, so waiting cannot deadlock. They
 * only save work: across processes, or when a release is forgotten, the database guard decides.
 */
export class IdentityClaims {
  private readonly held = new Map<string, Promise<void>>();
  /** Release number of recently created identities; the oldest releases are forgotten first. */
  private readonly released: LRUCache<string, number>;
  private releases = 0;

  constructor(remembered = REMEMBERED_RELEASES) {
    this.released = new LRUCache({ max: remembered });
  }

  /** Call before reading the identities that `tryClaim` will then be asked about. */
  mark(): number {
    return this.releases;
  }

  tryClaim(workspaceId: string, identifiers: Identifier[], readSince: number): ClaimAttempt {
    const keys = identifiers.map((identifier) => `${workspaceId}\u0000${identifierKey(identifier)}`);
    for (const key of keys) {
      const holder = this.held.get(key);
      if (holder) return { busy: holder };
      // peek: looking does not make a release recent, only releasing again does.
      if ((this.released.peek(key) ?? -1) >= readSince) return { busy: Promise.resolve() };
    }
    let settle = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    for (const key of keys) this.held.set(key, done);
    return { release: () => this.release(keys, done, settle) };
  }

  private release(keys: string[], done: Promise<void>, settle: () => void): void {
    for (const key of keys) {
      if (this.held.get(key) === done) this.held.delete(key);
      this.released.set(key, this.releases);
    }
    this.releases += 1;
    settle();
  }
}
