import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Piscina } from 'piscina';

import { PerKeyGate } from '../common/per-key-gate';
import { workerFile } from '../common/worker-file';
import type { ReadTask } from './definition-reader.worker';
import type { SubjectLevel } from './language/audience-ast';
import { AudienceDefinitionResult, readAudienceDefinition } from './language/audience-definition';

/**
 * Text up to this long is read on the event loop (well under 20 ms); longer text goes to a thread.
 * Parsing is roughly linear but slow per character: a 10 KB definition takes a few hundred ms.
 */
export const INLINE_TEXT_LENGTH = 500;
/** A thread that has not answered by then is stopped (the longest allowed text takes ~2 s). */
const READ_TIMEOUT_MS = 30_000;
/** How long an unused reader thread stays. */
const IDLE_THREAD_MS = 60_000;

/**
 * Reads audience definitions as the API receives them (text or JSON AST) without holding up the
 * event loop: long text is parsed in a worker thread, one definition of a workspace at a time, so
 * a workspace posting huge definitions waits behind itself while requests of every workspace,
 * its own included, go on being served.
 */
@Injectable()
export class DefinitionReader implements OnModuleDestroy {
  private pool?: Piscina<ReadTask, AudienceDefinitionResult>;
  private readonly gate = new PerKeyGate(1);

  async read(
    workspaceId: string,
    definition: unknown,
    level: SubjectLevel = 'profile',
    field = 'definition',
  ): Promise<AudienceDefinitionResult> {
    if (typeof definition !== 'string' || definition.length <= INLINE_TEXT_LENGTH) {
      return readAudienceDefinition(definition, field, level);
    }
    return this.gate.run(workspaceId, async () => {
      try {
        return await this.threads().run(
          { text: definition, field, level },
          { signal: AbortSignal.timeout(READ_TIMEOUT_MS) },
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') {
          return { ok: false, errors: [{ path: field, message: `could not be read within ${READ_TIMEOUT_MS} ms` }] };
        }
        throw error;
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private threads(): Piscina<ReadTask, AudienceDefinitionResult> {
    if (this.pool) return this.pool;
    this.pool = new Piscina<ReadTask, AudienceDefinitionResult>({
      ...workerFile(__filename, 'definition-reader.worker'),
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: IDLE_THREAD_MS,
    });
    return this.pool;
  }
}
