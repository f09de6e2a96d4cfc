import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Piscina } from 'piscina';

import { PerKeyGate } from '../common/per-key-gate';
import type { FieldProblem } from '../common/validation';
import { workerFile } from '../common/worker-file';
import { AppConfig } from '../config/app-config';
import { Batcher } from './batcher';
import type { RenderTask } from './template-render.worker';
import { EmailRenderResult, EmailTemplates, RenderedEmail, TemplateError, TemplateScope } from './templates';

/** A render that did not come back (its thread stopped answering or died): worth another attempt later. */
export class RenderAbortedError extends Error {}

/** What a template sees when it is checked on save: an empty profile, which a template must survive. */
export const SAMPLE_SCOPE: TemplateScope = {
  profile: { id: '00000000-0000-4000-8000-000000000000', traits: {}, identities: [] },
  traits: {},
  computed: {},
  identities: {},
  email: 'sample@example.com',
  audience: { id: '00000000-0000-4000-8000-000000000000', key: 'sample', name: 'Sample' },
  account: { groupId: 'sample', traits: {}, members: 0, activeMembers14d: 0, computed: {} },
  transition: { kind: 'entered', at: '2026-01-01T00:00:00.000Z' },
  unsubscribe_url: 'https://example.com/u/sample',
};

/** Batches of renders a destination may have waiting in the threads at once; the rest wait their turn here. */
const IN_FLIGHT_PER_DESTINATION_PER_THREAD = 2;
/** Emails of a destination rendered in one message to a thread (a delivery job holds up to 50). */
const EMAILS_PER_BATCH = 50;

/**
 * Past this, a render thread is stopped: Liquid's own limits (see templates.ts) end each render at
 * its time limit, so this only catches a thread that stopped answering.
 */
function hardTimeoutMs(renderLimitMs: number, emails: number): number {
  return 5_000 + renderLimitMs * emails;
}

interface EmailToRender {
  templates: EmailTemplates;
  scope: TemplateScope;
}

/**
 * Renders email templates in worker threads (Piscina), so that no template, however slow, holds
 * up the event loop that serves requests and drives deliveries. Each email's render has a time
 * limit (TEMPLATE_RENDER_TIMEOUT_MS) and a memory budget; a thread that stops answering is
 * replaced. Renders are admitted per destination, so a destination with a slow template waits
 * mostly behind itself.
 */
@Injectable()
export class TemplateRenderer implements OnModuleDestroy {
  private pool?: Promise<Piscina<RenderTask, EmailRenderResult[]>>;
  private readonly gate: PerKeyGate;
  /** Per destination: the renders asked for in one turn of the event loop go to a thread together. */
  private readonly batchers = new Map<string, Batcher<EmailToRender, EmailRenderResult>>();

  constructor(private readonly config: AppConfig) {
    this.gate = new PerKeyGate(IN_FLIGHT_PER_DESTINATION_PER_THREAD * config.TEMPLATE_RENDER_THREADS);
  }

  /** One email's templates for one recipient; throws TemplateError (final) or RenderAbortedError (retry). */
  async render(destinationId: string, templates: EmailTemplates, scope: TemplateScope): Promise<RenderedEmail> {
    const result = await this.batcherFor(destinationId).call({ templates, scope });
    if (result.ok) return result.rendered;
    throw new TemplateError(result.reason);
  }

  /**
   * Renders the templates once for an empty profile, as a destination is saved: a template that
   * cannot finish within the limits even then (nested loops over large ranges…) is refused.
   */
  async sampleProblems(templates: EmailTemplates): Promise<FieldProblem[]> {
    let result: EmailRenderResult;
    try {
      [result] = (await this.gate.run('sample', () => this.run([{ templates, scope: SAMPLE_SCOPE }], true))) as [
        EmailRenderResult,
      ];
    } catch (error) {
      if (!(error instanceof RenderAbortedError)) throw error;
      return [{ field: 'config.html', reason: `cannot be rendered within the limits: ${error.message}` }];
    }
    if (result.ok) return [];
    return [{ field: `config.${result.field}`, reason: `fails on a sample render: ${result.reason}` }];
  }

  async onModuleDestroy(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await (await pool?.catch(() => undefined))?.destroy();
  }

  private batcherFor(destinationId: string): Batcher<EmailToRender, EmailRenderResult> {
    let batcher = this.batchers.get(destinationId);
    if (!batcher) {
      batcher = new Batcher((emails) => this.gate.run(destinationId, () => this.run(emails, false)), EMAILS_PER_BATCH);
      this.batchers.set(destinationId, batcher);
    }
    return batcher;
  }

  private async run(emails: EmailToRender[], sample: boolean): Promise<EmailRenderResult[]> {
    const renderLimitMs = this.config.TEMPLATE_RENDER_TIMEOUT_MS;
    const timeoutMs = hardTimeoutMs(renderLimitMs, emails.length);
    const threads = await this.threads();
    try {
      return await threads.run({ emails, renderLimitMs, sample }, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      // Aborted (see hardTimeoutMs), or the thread died (past its memory limit, say).
      const reason =
        error instanceof Error && error.name === 'AbortError'
          ? `did not finish within ${timeoutMs} ms`
          : error instanceof Error
            ? error.message
            : String(error);
      throw new RenderAbortedError(`template rendering failed: ${reason}`);
    }
  }

  /**
   * Threads start with the first render (an API process that never saves a template starts none)
   * and stay. The first task waits for them to load, untimed: a render's time limit is about the
   * render, not about starting a thread on a busy machine.
   */
  private threads(): Promise<Piscina<RenderTask, EmailRenderResult[]>> {
    if (this.pool) return this.pool;
    const pool = new Piscina<RenderTask, EmailRenderResult[]>({
      ...workerFile(__filename, 'template-render.worker'),
      minThreads: this.config.TEMPLATE_RENDER_THREADS,
      maxThreads: this.config.TEMPLATE_RENDER_THREADS,
      // A template cannot take the process's memory with it: past this its thread dies alone.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const ready = pool.run({ emails: [], renderLimitMs: 1, sample: true }).then(
      () => pool,
      async (error: unknown) => {
        // The next render tries again with a new pool.
        if (this.pool === ready) this.pool = undefined;
        await pool.destroy();
        throw error;
      },
    );
    this.pool = ready;
    return ready;
  }
}
