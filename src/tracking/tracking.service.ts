import { Injectable } from '@nestjs/common';

import { FailedAuthLimiter, TooManyFailedAttemptsError } from '../auth/failed-auth-limiter.service';
import { Clock } from '../common/clock';
import { isDatabaseUnavailable } from '../common/database-unavailable.filter';
import { FieldProblem } from '../common/validation';
import { withRetries } from '../database/retries';
import { TransactionRunner } from '../database/transactions';
import { identifiersOf } from '../identity/identifiers';
import { IdentityConflictError } from '../identity/identity.errors';
import { IdentityService } from '../identity/identity.service';
import { EvaluationTrigger } from '../membership/evaluation-trigger.service';
import { MetricsService } from '../ops/metrics.service';
import { buildIngestWrite, IngestExtras, subjectOf } from './ingest-write';
import { JsonObject } from './message-json';
import { batchMessages, ReadRequest, rejectedProblems, replayedMessage, singleMessage } from './message-reader';
import { addRejected, addStrictlyRefused, addWarning, emptyPlan, QuarantinePlan } from './quarantine-rows';
import { RateLimiterService } from './rate-limiter.service';
import { SourceContext, SourceResolverService } from './source-resolver.service';
import { MessageType } from './tracking.dto';
import {
  InvalidMessagesError,
  MessageTooLargeError,
  RateLimitedError,
  SourceGoneError,
  UnknownWriteKeyError,
} from './tracking.errors';
import { TrackingRepository } from './tracking.repository';
import { bodyObject, NormalizedMessage } from './tracking-messages';

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

/** What a tracking request answers besides `success`: the messages quarantined, by index. */
export interface IngestOutcome {
  rejected: { index: number; errors: FieldProblem[] }[];
  warnings: { index: number; warnings: FieldProblem[] }[];
}

/** A quarantine entry to replay, as the quarantine module read it. */
export interface ReplayRequest {
  quarantineId: string;
  workspaceId: string;
  sourceId: string | null;
  type: MessageType | null;
  message: unknown;
  envelope: JsonObject;
  receivedAt: Date;
}

export interface ReplayOutcome {
  /** `duplicate`: an event with its messageId was already stored, so it changed nothing. */
  status: 'stored' | 'duplicate';
  messageId: string;
  warnings: FieldProblem[];
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
    private readonly clock: Clock,
    private readonly failedAuth: FailedAuthLimiter,
    private readonly evaluation: EvaluationTrigger,
  ) {}

  /**
   * Authenticates, reads and stores one request. When this returns, every valid message of the
   * request is committed in Postgres as an event (or was already there under its messageId), and
   * every invalid one in the quarantine, in the same statement. A request with no valid message
   * (or any invalid one, for a strict source) quarantines its messages and throws 400 (413 when
   * they are all too large).
   */
  async ingest(kind: MessageType | 'batch', body: unknown, request: TrackingRequest): Promise<IngestOutcome> {
    const started = performance.now();
    try {
      const read = await this.accept(kind, body, request);
      this.metrics.ingestDuration.observe((performance.now() - started) / 1000);
      for (const message of read.messages) this.metrics.eventsAccepted.inc({ type: message.type });
      return outcomeOf(read);
    } catch (error) {
      this.metrics.eventsRejected.inc({ reason: rejectionReason(error) });
      throw error;
    }
  }

  private async accept(kind: MessageType | 'batch', body: unknown, request: TrackingRequest): Promise<ReadRequest> {
    const receivedAt = this.clock.now();
    const payload = bodyObject(body);
    const source = await this.authenticate(request.authorization, payload.writeKey, request.ip);
    const meta = request.ip === undefined ? { receivedAt } : { receivedAt, ip: request.ip };
    const read = kind === 'batch' ? batchMessages(payload, meta) : singleMessage(kind, payload, meta);
    await this.rateLimiter.consume(source.sourceId, { events: read.count, bytes: read.bytes }, source.tracking);
    const context = { type: read.type, envelope: read.envelope, receivedAt };
    const plan = emptyPlan();
    for (const message of read.rejected) addRejected(plan, context, message);
    const refused = read.messages.length === 0 || (source.validation === 'strict' && read.rejected.length > 0);
    if (refused) {
      for (const message of read.messages) addStrictlyRefused(plan, context, message);
      await this.repository.writeQuarantine(source.workspaceId, source.sourceId, plan.rows);
      this.countQuarantined(plan);
      throw refusal(read);
    }
    for (const message of read.messages) addWarning(plan, context, message);
    await this.store(source, read.messages, {
      quarantine: plan.rows,
      replayedQuarantineIds: [],
      lane: request.lane ?? 'live',
    });
    this.countQuarantined(plan);
    // After the commit, best effort and not awaited: real-time evaluation starts now, not at the next sweep.
    this.evaluation.nudge(source.workspaceId);
    return read;
  }

  /**
   * Stores a quarantined message (corrected or as it was) as the event it should have been, and
   * deletes the entry in the same statement. Throws 400 naming the fields while it is still invalid.
   */
  async replay(entry: ReplayRequest, corrected?: unknown): Promise<ReplayOutcome> {
    const source = entry.sourceId ? await this.sources.byId(entry.workspaceId, entry.sourceId) : null;
    if (!source) throw new SourceGoneError();
    const message = corrected === undefined ? entry.message : corrected;
    const read = replayedMessage(entry.type, message, entry.envelope, entry.receivedAt);
    const [normalized] = read.messages;
    if (!normalized) throw new InvalidMessagesError(rejectedProblems(read.rejected));
    const inserted = await this.store(source, [normalized], {
      quarantine: [],
      replayedQuarantineIds: [entry.quarantineId],
    });
    this.metrics.eventsAccepted.inc({ type: normalized.type });
    this.evaluation.nudge(source.workspaceId);
    return {
      status: inserted > 0 ? 'stored' : 'duplicate',
      messageId: normalized.messageId,
      warnings: normalized.warnings,
    };
  }

  private countQuarantined(plan: QuarantinePlan): void {
    for (const { kind, reason } of plan.counts) this.metrics.quarantinedMessages.inc({ kind, reason });
  }

  private async authenticate(
    authorization: string | undefined,
    bodyWriteKey: unknown,
    ip: string | undefined,
  ): Promise<SourceContext> {
    const writeKey = basicAuthUser(authorization) ?? (typeof bodyWriteKey === 'string' ? bodyWriteKey : undefined);
    if (!writeKey) {
      throw new UnknownWriteKeyError('a write key is required: HTTP Basic user name, or writeKey in the body');
    }
    try {
      // Wrong write keys count against the client address (FailedAuthLimiter); past the limit, 429.
      await this.failedAuth.assertAllowed(ip);
      const source = await this.sources.resolve(writeKey);
      if (!source) {
        await this.failedAuth.recordFailure(ip);
        throw new UnknownWriteKeyError('the write key is not valid');
      }
      return source;
    } catch (error) {
      if (error instanceof TooManyFailedAttemptsError) throw new RateLimitedError(error.retryAfterSeconds);
      throw error;
    }
  }

  /** Returns how many events were new. */
  private async store(source: SourceContext, messages: NormalizedMessage[], extras: IngestExtras): Promise<number> {
    const planned = messages.map((message) => ({
      identity: identifiersOf(subjectOf(message), source.identity),
      timestamp: message.timestamp,
    }));
    // A request that lost a race to another (see IdentityService) wrote nothing and runs again.
    return withRetries(async () => {
      const { resolution, release } = await this.identity.resolveAndClaim(source.workspaceId, source.identity, planned);
      try {
        const write = buildIngestWrite(source.workspaceId, source.sourceId, messages, resolution.plan, extras);
        const inserted = this.identity.needsPreparation(resolution)
          ? await this.transactions.run(async (tx) => {
              await this.identity.prepare(tx, source.workspaceId, source.identity, resolution);
              return this.repository.writeIngest(write, tx);
            })
          : // One autocommit statement: creating identities can still lose a race to another
            // process (→ IdentityConflictError), and then the statement wrote nothing.
            await this.repository.writeIngest(write);
        // Committed, so every new identity exists; a merge moved the losers' identities.
        this.identity.remember(source.workspaceId, resolution.plan.newIdentities);
        if (resolution.plan.merges.length > 0) this.identity.forget(source.workspaceId, planned);
        return inserted;
      } catch (error) {
        if (error instanceof IdentityConflictError) this.identity.forget(source.workspaceId, planned);
        throw error;
      } finally {
        release();
      }
    });
  }
}

function outcomeOf(read: ReadRequest): IngestOutcome {
  return {
    rejected: read.rejected.map((message) => ({ index: message.index, errors: message.errors })),
    warnings: read.messages
      .filter((message) => message.warnings.length > 0)
      .map((message) => ({ index: message.index, warnings: message.warnings })),
  };
}

/** The answer to a request that stored no event: 413 when every message was too large, else 400. */
function refusal(read: ReadRequest): Error {
  const problems = rejectedProblems(read.rejected);
  if (read.messages.length === 0 && read.rejected.every((message) => message.reason === 'too_large')) {
    return new MessageTooLargeError(problems);
  }
  return new InvalidMessagesError(problems);
}

function rejectionReason(error: unknown): string {
  if (error instanceof UnknownWriteKeyError) return 'unauthorized';
  if (error instanceof InvalidMessagesError) return 'validation';
  if (error instanceof MessageTooLargeError) return 'too_large';
  if (error instanceof RateLimitedError) return 'rate_limited';
  if (isDatabaseUnavailable(error)) return 'unavailable';
  return 'error';
}
