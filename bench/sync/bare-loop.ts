import { randomUUID } from 'node:crypto';

import nodemailer from 'nodemailer';

import type { ClaimedDelivery } from '../../src/destinations/delivery.repository';
import type { EmailConfig } from '../../src/destinations/destination-config';
import { buildEmail, EmailMessage, emailTemplates, templateScope } from '../../src/destinations/email-message';
import { mailOptions, smtpOptions } from '../../src/destinations/email-sender';
import { renderEmailTemplates } from '../../src/destinations/templates';
import type { UnsubscribeLinks } from '../../src/unsubscribe/unsubscribe-links';
import type { SinkClient } from './sink-client';

export interface BareResult {
  emails: number;
  seconds: number;
  perSecond: number;
  /** Average size at the server, to check that both phases sent the same messages. */
  bytesPerEmail: number;
  /** CPU time of this process per email (user + system): less sensitive to a busy machine than rates. */
  cpuMsPerEmail: number;
}

/** CPU milliseconds this process used since `since` (a process.cpuUsage() reading). */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * The messages Personae sends to `<prefix><i>@bench.test` for this template, rendered beforehand by the
 * same code (Liquid templates, signed unsubscribe link, Message-ID from a delivery id): byte for
 * byte the size of what the delivery workers send, so that only the work around them differs.
 */
function renderAll(config: EmailConfig, emails: number, links: UnsubscribeLinks, prefix: string): EmailMessage[] {
  const workspaceId = randomUUID();
  const destinationId = randomUUID();
  const at = new Date();
  const messages: EmailMessage[] = [];
  for (let i = 1; i <= emails; i++) {
    const email = `${prefix}${i}@bench.test`;
    const delivery: ClaimedDelivery = {
      id: randomUUID(),
      workspaceId,
      destinationId,
      attempts: 1,
      kind: 'entered',
      at,
      account: null,
      audienceId: randomUUID(),
      audienceKey: 'bench_sync',
      audienceName: 'Bench',
      destinationType: 'email',
      config,
      destinationVersion: at,
      profileId: randomUUID(),
      traits: { email, name: `Person ${i}` },
      computed: {},
      identities: [],
      email,
      suppression: null,
      connected: true,
      journey: null,
      traitChange: null,
    };
    const url = links.url({ workspaceId, destinationId, email });
    const result = renderEmailTemplates(emailTemplates(config), templateScope(delivery, url));
    if (!result.ok) throw new Error(`the bench template fails: ${result.reason}`);
    messages.push(buildEmail(delivery, config, email, url, result.rendered));
  }
  return messages;
}

/**
 * The physical limit: a nodemailer transport with the pool options of a destination's
 * (smtpOptions), sending the pre-rendered messages as fast as it can.
 */
export async function bareLoop(
  sink: SinkClient,
  config: EmailConfig,
  emails: number,
  links: UnsubscribeLinks,
  prefix: string,
): Promise<BareResult> {
  const messages = renderAll(config, emails, links, prefix);
  const options = smtpOptions(config, undefined);
  if (!options) throw new Error('the bench destination has no SMTP server');
  const transport = nodemailer.createTransport({ ...options, pool: true });
  const before = { count: sink.count, bytes: sink.bytes, cpu: process.cpuUsage() };
  const started = Date.now();
  await Promise.all(messages.map((message) => transport.sendMail(mailOptions(message))));
  await sink.until(before.count + emails, 120_000);
  const cpuMsPerEmail = cpuMsSince(before.cpu) / emails;
  transport.close();
  const seconds = (sink.lastAt - started) / 1000;
  return {
    emails,
    seconds,
    perSecond: emails / seconds,
    bytesPerEmail: (sink.bytes - before.bytes) / emails,
    cpuMsPerEmail,
  };
}
