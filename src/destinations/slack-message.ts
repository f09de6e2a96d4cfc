import type { ClaimedDelivery } from './delivery.repository';

/** Lines in one Slack message: Slack truncates a message's text past about 40,000 characters. */
export const SLACK_LINES_PER_MESSAGE = 50;

/** Slack's escaping for text: &, < and > (the rest is taken literally). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Who a line is about: the email, else the user id, else the anonymous id, else the profile id. */
function who(delivery: ClaimedDelivery): string {
  const id = (type: string) => delivery.identities.find((i) => i.type === type)?.value;
  return delivery.email ?? id('user_id') ?? id('anonymous_id') ?? `profile ${delivery.profileId ?? '?'}`;
}

/** One line per transition, e.g. `:inbox_tray: *ann@example.com* entered *Trial users* (trial_users)`. */
export function slackLine(delivery: ClaimedDelivery): string {
  const entered = delivery.kind === 'entered';
  return (
    `${entered ? ':inbox_tray:' : ':outbox_tray:'} *${slackEscape(who(delivery))}* ` +
    `${entered ? 'entered' : 'left'} *${slackEscape(delivery.audienceName)}* (\`${slackEscape(delivery.audienceKey)}\`)`
  );
}

/** The incoming-webhook body for a group of transitions (at most SLACK_LINES_PER_MESSAGE). */
export function slackBody(deliveries: ClaimedDelivery[]): string {
  return JSON.stringify({ text: deliveries.map(slackLine).join('\n') });
}
