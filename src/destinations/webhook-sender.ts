import { Injectable } from '@nestjs/common';

import type { ClaimedDelivery } from './delivery.repository';
import type { SendOutcome } from './delivery-policy';
import type { WebhookConfig } from './destination-config';
import { HttpPoster } from './http-poster';
import { webhookPayload } from './webhook-payload';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** Posts one signed Segment-style track call per delivery to a webhook receiver. */
@Injectable()
export class WebhookSender {
  constructor(private readonly http: HttpPoster) {}

  send(delivery: ClaimedDelivery, config: WebhookConfig): Promise<SendOutcome> {
    const body = JSON.stringify(webhookPayload(delivery));
    return this.http.send(config.url, body, {
      ...config.headers,
      'content-type': 'application/json',
      'user-agent': 'Personae-Webhook/1',
      'x-personae-delivery': delivery.id,
      'x-personae-attempt': String(delivery.attempts),
      [SIGNATURE_HEADER]: signWebhook(config.secret, body),
    });
  }
}
