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

/** Two messages per transition: at most this many transitions in a request. */
const DELIVERIES_PER_REQUEST = Math.floor(BATCH_MAX_MESSAGES / 2);

/**
 * Sends transitions to a Segment-compatible Tracking API (`<url>/v1/batch`, HTTP Basic with the
 * write key as user name, gzip): the deliveries of a destination attempted together share
 * requests within Segment's limits. A request's answer is the outcome of every delivery in it.
 */
@Injectable()
export class SegmentSender {
  private readonly batches = new DestinationBatchers<SegmentConfig>(
    (deliveries, config) => this.sendBatch(deliveries, config),
    DELIVERIES_PER_REQUEST,
    SEGMENT_BATCH_WINDOW_MS,
  );

  constructor(private readonly http: HttpPoster) {}

  send(delivery: ClaimedDelivery, config: SegmentConfig): Promise<SendOutcome> {
    return this.batches.send(delivery, config);
  }

  release(destinationId: string): void {
    this.batches.release(destinationId);
  }

  private async sendBatch(deliveries: ClaimedDelivery[], config: SegmentConfig): Promise<SendOutcome[]> {
    const serialized = deliveries.map((delivery) => messagesFor(delivery).map((m) => JSON.stringify(m)));
    const { requests, oversized } = packRequests(serialized);
    const outcomes: SendOutcome[] = deliveries.map(() => ({ kind: 'transient', error: 'not sent' }));
    for (const index of oversized) {
      outcomes[index] = { kind: 'permanent', error: 'a message is over the 32 KB Segment allows' };
    }
    let url: URL;
    try {
      url = segmentBatchUrl(config);
    } catch {
      return outcomes.map(() => ({ kind: 'final', status: 'dead', error: 'the destination url is not valid' }));
    }
    const headers = {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Basic ${Buffer.from(`${config.writeKey}:`).toString('base64')}`,
      'user-agent': 'Personae-Sync/1',
    };
    const post = async (indices: number[]): Promise<void> => {
      const body = await gzipAsync(
        batchBody(
          indices.flatMap((i) => serialized[i] ?? []),
          new Date(),
        ),
      );
      const outcome = await this.http.send(url, body, headers);
      if (refusesContent(outcome) && indices.length > 1) {
        // One message the receiver cannot take fails the whole request: halve it until the
        // transitions it refuses are alone, so that the others are delivered. Resending what the
        // receiver refused whole is safe (same messageIds), and takes about 2·log2(n) requests.
        const half = Math.ceil(indices.length / 2);
        await Promise.all([post(indices.slice(0, half)), post(indices.slice(half))]);
        return;
      }
      for (const index of indices) outcomes[index] = outcome;
    };
    await Promise.all(requests.map(post));
    return outcomes;
  }
}

/**
 * A 400 (or 413, 422) is about the content of the request, which a smaller request may not share;
 * any other 4xx (a wrong write key, a missing endpoint) holds for every request alike.
 */
function refusesContent(outcome: SendOutcome): boolean {
  return outcome.kind === 'permanent' && /^http (400|413|422)\b/.test(outcome.error);
}
