import type { ClaimedDelivery } from './delivery.repository';
import type { EmailConfig } from './destination-config';
import { EmailTemplates, headerSafe, RenderedEmail, TemplateScope } from './templates';

export interface EmailMessage {
  from: string;
  replyTo?: string;
  to: string;
  subject: string;
  html?: string;
  text?: string;
  /** `<delivery-id@sender-domain>`: the same on every attempt, so a receiver can drop a resend. */
  messageId: string;
  headers: Record<string, string>;
}

/** The first value of each identity type, for `{{ identities.user_id }}`. */
function identityMap(identities: { type: string; value: string }[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { type, value } of identities) map[type] ??= value;
  return map;
}

export function templateScope(delivery: ClaimedDelivery, unsubscribeUrl: string): TemplateScope {
  const traits = delivery.traits ?? {};
  return {
    profile: { id: delivery.profileId ?? '', traits, identities: delivery.identities },
    traits,
    computed: delivery.computed ?? {},
    identities: identityMap(delivery.identities),
    email: delivery.email,
    audience: { id: delivery.audienceId, key: delivery.audienceKey, name: delivery.audienceName },
    account: delivery.account,
    transition: { kind: delivery.kind, at: delivery.at.toISOString() },
    unsubscribe_url: unsubscribeUrl,
    ...(delivery.journey
      ? {
          journey: {
            id: delivery.journey.id,
            key: delivery.journey.key,
            name: delivery.journey.name,
            step: delivery.journey.step,
            variant: delivery.journey.variant,
          },
          entry_event: delivery.journey.entryEvent,
        }
      : {}),
  };
}

export function messageIdFor(deliveryId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'personae.invalid';
  return `<${deliveryId}@${domain}>`;
}

/** The destination's templates; a journey's send step may bring its own subject, text or html. */
export function emailTemplates(config: EmailConfig, delivery?: ClaimedDelivery): EmailTemplates {
  const own = delivery?.journey?.templates;
  return {
    subject: own?.subject ?? config.subject,
    html: own?.html ?? config.html,
    text: own?.text ?? config.text,
  };
}

/**
 * The email for one recipient from its rendered templates (a TemplateError, raised while
 * rendering, fails the delivery rather than sending a half-rendered email). The subject was
 * rendered as text and loses any line break a trait smuggled in, so a trait can never add a header.
 */
export function buildEmail(
  delivery: ClaimedDelivery,
  config: EmailConfig,
  to: string,
  unsubscribeUrl: string,
  rendered: RenderedEmail,
): EmailMessage {
  return {
    from: config.from,
    replyTo: config.replyTo,
    to,
    subject: headerSafe(rendered.subject),
    html: rendered.html,
    text: rendered.text,
    messageId: messageIdFor(delivery.id, config.from),
    headers: {
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
}
