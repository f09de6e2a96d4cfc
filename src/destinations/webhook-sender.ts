import { Injectable } from '@nestjs/common';
import type { ClaimedDelivery } from './delivery.repository';
import type { WebhookConfig } from './destination-config';
import { retryAfterMs, SendOutcome, WEBHOOK_TIMEOUT_MS } from './delivery-policy';
import { webhookPayload } from './webhook-payload';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** 5xx, 429 and 408 are worth another attempt; any other non-2xx answer is final. */
export function classifyHttpStatus(status: number, retryAfter: string | null): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent' };
  const error = `http ${status}`;
  if (status >= 500 || status === 429 || status === 408) {
    return { kind: 'transient', error, retryAfterMs: retryAfterMs(retryAfter) };
  }
  return { kind: 'permanent', error: status >= 300 && status < 400 ? `${error}: redirects are not followed` : error };
}

@Injectable()
export class WebhookSender {
  async send(delivery: ClaimedDelivery, config: WebhookConfig): Promise<SendOutcome> {
    const body = JSON.stringify(webhookPayload(delivery));
    let response: Response;
    try {
      response = await fetch(config.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        headers: {
          ...config.headers,
          'content-type': 'application/json',
          'user-agent': 'Personae-Webhook/1',
          'x-personae-delivery': delivery.id,
          'x-personae-attempt': String(delivery.attempts),
          [SIGNATURE_HEADER]: signWebhook(config.secret, body),
        },
        body,
      });
    } catch (error) {
      const reason =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      return { kind: 'transient', error: `http: ${reason}` };
    }
    // The body is not needed; reading it frees the connection for reuse.
    await response.arrayBuffer().catch(() => undefined);
    const outcome = classifyHttpStatus(response.status, response.headers.get('retry-after'));
    return outcome.kind === 'sent'
      ? { kind: 'sent', providerMessageId: response.headers.get('x-request-id') ?? `http ${response.status}` }
      : outcome;
  }
}
