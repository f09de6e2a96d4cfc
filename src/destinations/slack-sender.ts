import { Injectable } from '@nestjs/common';

import type { ClaimedDelivery } from './delivery.repository';
import type { SendOutcome } from './delivery-policy';
import { DestinationBatchers } from './destination-batchers';
import { HttpPoster } from './http-poster';
import { SLACK_LINES_PER_MESSAGE, slackBody } from './slack-message';
import type { SlackConfig } from './sync-config';

/**
 * How long the first transition waits for others to share its message. Slack allows about one
 * message a second per incoming webhook: when many people move at once, one message lists them.
 */
export const SLACK_GROUP_WINDOW_MS = 500;

/** Posts transitions to a Slack incoming webhook, one line each, grouped into one message. */
@Injectable()
export class SlackSender {
  private readonly batches = new DestinationBatchers<SlackConfig>(
    (deliveries, config) => this.sendGroup(deliveries, config),
    SLACK_LINES_PER_MESSAGE,
    SLACK_GROUP_WINDOW_MS,
  );

  constructor(private readonly http: HttpPoster) {}

  send(delivery: ClaimedDelivery, config: SlackConfig): Promise<SendOutcome> {
    return this.batches.send(delivery, config);
  }

  release(destinationId: string): void {
    this.batches.release(destinationId);
  }

  private async sendGroup(deliveries: ClaimedDelivery[], config: SlackConfig): Promise<SendOutcome[]> {
    const outcome = await this.http.send(config.url, slackBody(deliveries), {
      'content-type': 'application/json',
      'user-agent': 'Personae-Slack/1',
    });
    return deliveries.map(() => outcome);
  }
}
