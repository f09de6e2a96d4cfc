import http, { IncomingMessage } from 'node:http';
import https from 'node:https';

import { Injectable, OnModuleDestroy } from '@nestjs/common';

import { AddressPolicy } from './address-policy';
import { retryAfterMs, SendOutcome, WEBHOOK_TIMEOUT_MS } from './delivery-policy';
import { AddressRefusedError, assertLiteralAllowed, checkedLookup } from './destination-address';

/**
 * How much of a response body is read: enough for the start of an error message in lastError.
 * The rest is never buffered; the connection is dropped instead.
 */
export const RESPONSE_BODY_LIMIT_BYTES = 4 * 1024;
const ERROR_SNIPPET_CHARS = 300;

/** 5xx, 429 and 408 are worth another attempt; any other non-2xx answer is final. */
export function classifyHttpStatus(status: number, retryAfter: string | null, body = ''): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent' };
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, ERROR_SNIPPET_CHARS);
  const error = snippet ? `http ${status}: ${snippet}` : `http ${status}`;
  if (status >= 500 || status === 429 || status === 408) {
    return { kind: 'transient', error, retryAfterMs: retryAfterMs(retryAfter) };
  }
  return {
    kind: 'permanent',
    error: status >= 300 && status < 400 ? `http ${status}: redirects are not followed` : error,
  };
}

/** The first `limit` bytes of a body; past that the response (and its connection) is destroyed. */
export function readCapped(response: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        response.destroy();
        done();
      }
    });
    response.once('end', done);
    response.once('error', done);
    response.once('close', done);
  });
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * Posts to the HTTP destinations (webhooks, Segment-compatible APIs, Slack) over node:http(s),
 * with agents whose `lookup` hands out only addresses the policy allows (a host written as an
 * address is checked before the request, since Node does not look those up). Keep-alive
 * connections are reused across deliveries. Every answer comes back classified as a SendOutcome.
 */
@Injectable()
export class HttpPoster implements OnModuleDestroy {
  private readonly http: http.Agent;
  private readonly https: https.Agent;

  constructor(private readonly policy: AddressPolicy) {
    const lookup = checkedLookup(policy);
    this.http = new http.Agent({ keepAlive: true, lookup });
    this.https = new https.Agent({ keepAlive: true, lookup });
  }

  onModuleDestroy(): void {
    this.http.destroy();
    this.https.destroy();
  }

  async send(target: string | URL, body: string | Buffer, headers: Record<string, string>): Promise<SendOutcome> {
    let answer: Answer;
    try {
      const url = new URL(target);
      assertLiteralAllowed(url.hostname, this.policy);
      answer = await this.post(url, body, headers);
    } catch (error) {
      // Said without the address's port state: only that the address is not one to reach.
      if (error instanceof AddressRefusedError)
        return { kind: 'final', status: 'dead', error: `refused: ${error.message}` };
      const reason =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      return { kind: 'transient', error: `http: ${reason}` };
    }
    const retryAfter = answer.headers['retry-after'];
    const outcome = classifyHttpStatus(answer.status, typeof retryAfter === 'string' ? retryAfter : null, answer.body);
    const requestId = answer.headers['x-request-id'];
    return outcome.kind === 'sent'
      ? { kind: 'sent', providerMessageId: typeof requestId === 'string' ? requestId : `http ${answer.status}` }
      : outcome;
  }

  private post(url: URL, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const send = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const request = send(
        url,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        },
        (response) => {
          readCapped(response, RESPONSE_BODY_LIMIT_BYTES).then(
            (text) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
            reject,
          );
        },
      );
      request.once('error', reject);
      request.end(body);
    });
  }
}
