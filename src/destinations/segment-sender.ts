import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

import { Injectable } from '@nestjs/common';

import type { ClaimedDelivery } from './delivery.repository';
import type { SendOutcome } from './delivery-policy';
import { DestinationBatchers } from './destination-batchers';
import { HttpPoster } from './http-poster';
import { messagesFor } from './segment-messages';
import { BATCH_MAX_MESSAGES, batchBody, packRequests } from './segment-requests';
import { segmentBatchUrl, SegmentConfig } from './sync-config';

const gzipAsync = promisify(gzip);

/**
 * How long the first delivery of a batch waits for others of the same destination. A batch job's
 * deliveries are claimed together and arrive within a few ms of each other; retries and the
 * trickle of a rate limiter are gathered over this window.
 */
export const SEGMENT_BATCH_WINDOW_MS = 25;

/**
 * The longest a part-filled request waits for the claim being read (see SegmentSender). It usually
 * goes sooner: with that claim's transitions, or alone as soon as no claim of its destination is
 * being read any more.
 */
export const SEGMENT_HOLD_MAX_MS = 250;

/** Two messages per transition: at most this many transitions in a request. */
const DELIVERIES_PER_REQUEST = Math.floor(BATCH_MAX_MESSAGES / 2);

/** A transition's messages, serialized, and where its request's answer goes. */
interface Queued {
  messages: string[];
  answer: (outcome: SendOutcome) => void;
}

/** The last, part-filled request of a destination, held back for the transitions of a claim being read. */
interface Held {
  version: number;
  config: SegmentConfig;
  queued: Queued[];
  timer: NodeJS.Timeout;
}

/**
 * Sends transitions to a Segment-compatible Tracking API (`<url>/v1/batch`, HTTP Basic with the
 * write key as user name, gzip): the deliveries of a destination attempted together share
 * requests within Segment's limits. A request's answer is the outcome of every delivery in it.
 *
 * A claimed transition batch rarely fills a whole number of requests (1,250 transitions are about
 * 3.4 requests of 500 KB): while another claim of the same destination is being read, the last,
 * part-filled request is held back and filled with that claim's transitions, so that a sync makes
 * the requests its bytes need rather than one more per claim. Nothing is held when no claim is
 * being read; a held request goes alone once no claim of its destination is being read any more
 * (one that brought nothing for it), and after SEGMENT_HOLD_MAX_MS at the latest. A fixed wait of
 * 25 ms made the filling depend on how fast Postgres answered the next claim.
 */
@Injectable()
export class SegmentSender {
  private readonly batches = new DestinationBatchers<SegmentConfig>(
    (deliveries, config) => this.sendBatch(deliveries, config),
    DELIVERIES_PER_REQUEST,
    SEGMENT_BATCH_WINDOW_MS,
  );
  /** Claims of transition batches being read, by destination (see claiming). */
  private readonly reading = new Map<string, number>();
  private readonly held = new Map<string, Held>();

  constructor(private readonly http: HttpPoster) {}

  send(delivery: ClaimedDelivery, config: SegmentConfig): Promise<SendOutcome> {
    return this.batches.send(delivery, config);
  }

  /** The deliveries of one claimed transition batch (one destination, one version of its config). */
  sendMany(deliveries: ClaimedDelivery[], config: SegmentConfig): Promise<SendOutcome[]> {
    return this.batches.sendMany(deliveries, config);
  }

  /**
   * Says that a claim of this destination's transition batches is being read, until the function
   * it returns is called (when its rows are in, before they are sent): meanwhile a part-filled
   * request waits for its transitions.
   */
  claiming(destinationId: string): () => void {
    this.reading.set(destinationId, (this.reading.get(destinationId) ?? 0) + 1);
    return () => {
      const left = (this.reading.get(destinationId) ?? 1) - 1;
      if (left > 0) {
        this.reading.set(destinationId, left);
        return;
      }
      this.reading.delete(destinationId);
      // The claim's own transitions are sent in the same turn as its rows arrive (sendMany takes
      // the held request then); a held request still there after it waits for no one.
      const held = this.held.get(destinationId);
      if (held) setImmediate(() => this.sendHeld(destinationId, held));
    };
  }

  release(destinationId: string): void {
    this.batches.release(destinationId);
  }

  private async sendBatch(deliveries: ClaimedDelivery[], config: SegmentConfig): Promise<SendOutcome[]> {
    const [first] = deliveries;
    if (!first) return [];
    const outcomes = new Array<SendOutcome>(deliveries.length);
    let left = deliveries.length;
    let done!: () => void;
    const answered = new Promise<void>((resolve) => (done = resolve));
    const own = deliveries.map((delivery, i): Queued => ({
      messages: messagesFor(delivery).map((m) => JSON.stringify(m)),
      answer: (outcome) => {
        outcomes[i] = outcome;
        if (--left === 0) done();
      },
    }));
    const version = first.destinationVersion.getTime();
    const held = this.takeHeld(first.destinationId, version);
    this.dispatch(first.destinationId, version, config, held.concat(own), true);
    await answered;
    return outcomes;
  }

  /** The request held back for this destination, taken to be filled; one of another config version goes out alone. */
  private takeHeld(destinationId: string, version: number): Queued[] {
    const held = this.held.get(destinationId);
    if (!held) return [];
    if (held.version !== version) {
      this.sendHeld(destinationId, held);
      return [];
    }
    this.held.delete(destinationId);
    clearTimeout(held.timer);
    return held.queued;
  }

  /** Sends a held request alone, unless a claim took it meanwhile. */
  private sendHeld(destinationId: string, entry: Held): void {
    if (this.held.get(destinationId) !== entry) return;
    this.held.delete(destinationId);
    clearTimeout(entry.timer);
    this.dispatch(destinationId, entry.version, entry.config, entry.queued, false);
  }

  /** Packs and posts; with `mayHold`, keeps the last request back while a claim of the destination is being read. */
  private dispatch(
    destinationId: string,
    version: number,
    config: SegmentConfig,
    queued: Queued[],
    mayHold: boolean,
  ): void {
    const { requests, oversized } = packRequests(queued.map((q) => q.messages));
    for (const index of oversized) {
      queued[index]!.answer({ kind: 'permanent', error: 'a message is over the 32 KB Segment allows' });
    }
    let url: URL;
    try {
      url = segmentBatchUrl(config);
    } catch {
      for (const request of requests)
        for (const index of request)
          queued[index]!.answer({ kind: 'final', status: 'dead', error: 'the destination url is not valid' });
      return;
    }
    const last = requests.at(-1);
    if (mayHold && last && (this.reading.get(destinationId) ?? 0) > 0) {
      requests.pop();
      const kept = last.map((index) => queued[index]!);
      const entry: Held = {
        version,
        config,
        queued: kept,
        timer: setTimeout(() => this.sendHeld(destinationId, entry), SEGMENT_HOLD_MAX_MS),
      };
      this.held.set(destinationId, entry);
    }
    const headers = {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Basic ${Buffer.from(`${config.writeKey}:`).toString('base64')}`,
      'user-agent': 'Personae-Sync/1',
    };
    for (const request of requests)
      void this.post(
        url,
        headers,
        request.map((index) => queued[index]!),
      );
  }

  private async post(url: URL, headers: Record<string, string>, queued: Queued[]): Promise<void> {
    let outcome: SendOutcome;
    try {
      const body = await gzipAsync(
        batchBody(
          queued.flatMap((q) => q.messages),
          new Date(),
        ),
      );
      outcome = await this.http.send(url, body, headers);
    } catch (error) {
      // Not sent: tried again with the others of the request, as after a network error.
      outcome = { kind: 'transient', error: `request: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (refusesContent(outcome) && queued.length > 1) {
      // One message the receiver cannot take fails the whole request: halve it until the
      // transitions it refuses are alone, so that the others are delivered. Resending what the
      // receiver refused whole is safe (same messageIds), and takes about 2·log2(n) requests.
      const half = Math.ceil(queued.length / 2);
      await Promise.all([this.post(url, headers, queued.slice(0, half)), this.post(url, headers, queued.slice(half))]);
      return;
    }
    for (const q of queued) q.answer(outcome);
  }
}

/**
 * A 400 (or 413, 422) is about the content of the request, which a smaller request may not share;
 * any other 4xx (a wrong write key, a missing endpoint) holds for every request alike.
 */
function refusesContent(outcome: SendOutcome): boolean {
  return outcome.kind === 'permanent' && /^http (400|413|422)\b/.test(outcome.error);
}
