import { Injectable } from '@nestjs/common';
import { identifiersOf } from '../identity/identifiers';
import { IdentityService } from '../identity/identity.service';
import { withRetries } from '../database/retries';
import { TransactionRunner } from '../database/transactions';
import { buildIngestWrite, subjectOf } from './ingest-write';
import { RateLimiterService } from './rate-limiter.service';
import { SourceContext, SourceResolverService } from './source-resolver.service';
import { isDatabaseUnavailable } from '../common/database-unavailable.filter';
import { MetricsService } from '../ops/metrics.service';
import { EvaluationTrigger } from '../membership/evaluation-trigger.service';
import { InvalidMessagesError, MessageTooLargeError, RateLimitedError, UnknownWriteKeyError } from './tracking.errors';
import { MessageType } from './tracking.dto';
import { TrackingRepository } from './tracking.repository';
import { batchMessages, bodyObject, NormalizedMessage, singleMessage } from './tracking-messages';

/** What the HTTP layer passes on about a tracking request. */
export interface TrackingRequest {
  authorization?: string;
  ip?: string;
  /** `bulk` for historical imports (/v1/import): evaluated after live traffic. */
  lane?: 'live' | 'bulk';
}

/** The user name of `Authorization: Basic base64(writeKey:)`. */
export function basicAuthUser(header: string | undefined): string | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  return user.length > 0 ? user : undefined;
}

@Injectable()
export class TrackingService {
  constructor(
    private readonly sources: SourceResolverService,
    private readonly rateLimiter: RateLimiterService,
    private readonly identity: IdentityService,
    private readonly transactions: TransactionRunner,
    private readonly repository: TrackingRepository,
    private readonly metrics: MetricsService,
    private readonly evaluation: EvaluationTrigger,
  ) {}

  /**
   * Validates, authenticates and stores one request. When this returns, every event of the
   * request is committed in Postgres (or was already there under its messageId).
   */
  async ingest(kind: MessageType | 'batch', body: unknown, request: TrackingRequest): Promise<void> {
    const started = performance.now();
    try {
      const messages = await this.accept(kind, body, request);
      this.metrics.ingestDuration.observe((performance.now() - started) / 1000);
      for (const message of messages) this.metrics.eventsAccepted.inc({ type: message.type });
    } catch (error) {
      this.metrics.eventsRejected.inc({ reason: rejectionReason(error) });
      throw error;
    }
  }

  private async accept(
    kind: MessageType | 'batch',
    body: unknown,
    request: TrackingRequest,
  ): Promise<NormalizedMessage[]> {
    const receivedAt = new Date();
    const payload = bodyObject(body);
    const source = await this.authenticate(request.authorization, payload.writeKey);
    const meta = request.ip === undefined ? { receivedAt } : { receivedAt, ip: request.ip };
    const messages = kind === 'batch' ? batchMessages(payload, meta) : [singleMessage(kind, payload, meta)];
    await this.rateLimiter.consume(source.sourceId, messages.length, source.tracking.rateLimitPerSecond);
    await this.store(source, messages, request.lane ?? 'live');
    // After the commit, best effort and not awaited: real-time evaluation starts now, not at the next sweep.
    this.evaluation.nudge(source.workspaceId);
    return messages;
  }

  private async authenticate(authorization: string | undefined, bodyWriteKey: unknown): Promise<SourceContext> {
    const writeKey = basicAuthUser(authorization) ?? (typeof bodyWriteKey === 'string' ? bodyWriteKey : undefined);
    if (!writeKey) {
      throw new UnknownWriteKeyError('a write key is required: HTTP Basic user name, or writeKey in the body');
    }
    const source = await this.sources.resolve(writeKey);
    if (!source) throw new UnknownWriteKeyError('the write key is not valid');
    return source;
  }

  private async store(source: SourceContext, messages: NormalizedMessage[], lane: 'live' | 'bulk'): Promise<void> {
    const planned = messages.map((message) => ({
      identity: identifiersOf(subjectOf(message), source.identity),
      timestamp: message.timestamp,
    }));
    // A request that lost a race to another (see IdentityService) wrote nothing and runs again.
    await withRetries(async () => {
      const { resolution, release } = await this.identity.resolveAndClaim(source.workspaceId, source.identity, planned);
      try {
        const write = { ...buildIngestWrite(source.workspaceId, source.sourceId, messages, resolution.plan), lane };
        if (this.identity.needsPreparation(resolution)) {
          await this.transactions.run(async (tx) => {
            await this.identity.prepare(tx, source.workspaceId, source.identity, resolution);
            await this.repository.writeIngest(write, tx);
          });
        } else {
          // One autocommit statement: creating identities can still lose a race to another
          // process (→ IdentityConflictError), and then the statement wrote nothing.
          await this.repository.writeIngest(write);
        }
      } finally {
        release();
      }
    });
  }
}

function rejectionReason(error: unknown): string {
  if (error instanceof UnknownWriteKeyError) return 'unauthorized';
  if (error instanceof InvalidMessagesError) return 'validation';
  if (error instanceof MessageTooLargeError) return 'too_large';
  if (error instanceof RateLimitedError) return 'rate_limited';
  if (isDatabaseUnavailable(error)) return 'unavailable';
  return 'error';
}
