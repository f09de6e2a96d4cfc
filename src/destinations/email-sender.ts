import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import nodemailer, {
  type NodemailerError,
  type SendMailOptions,
  type SMTPPoolOptions,
  type Transporter,
} from 'nodemailer';
import { AppConfig } from '../config/app-config';
import { DEFAULT_MAX_CONNECTIONS, EmailConfig } from './destination-config';
import { SendOutcome, SMTP_TIMEOUTS } from './delivery-policy';
import { devMailSinkEnabled, devMailSinkUrl } from './dev-mail-sink';
import type { EmailMessage } from './email-message';
import { SendGate } from './send-gate';

interface PooledTransport {
  version: number;
  transport: Transporter;
  gate: SendGate;
}

/** Asked when a connection is free for the message: whether it may still be sent. */
export type ReadyToSend = () => boolean | Promise<boolean>;

/** The SMTP server of a destination: its own, or the server's SMTP_URL (or the demo sink). */
export function smtpOptions(config: EmailConfig, serverDefault: string | undefined): SMTPPoolOptions | undefined {
  const pool: SMTPPoolOptions = {
    pool: true,
    maxConnections: config.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxMessages: 1_000,
    // Our own retries (with the claim, the backoff and the attempt count) replace nodemailer's
    // silent requeue of a message whose connection dropped mid-send.
    maxRequeues: 0,
    ...SMTP_TIMEOUTS,
  };
  if (config.smtpUrl) return { ...pool, url: config.smtpUrl };
  if (config.host) {
    return { ...pool, host: config.host, port: config.port, secure: config.secure, auth: config.auth };
  }
  return serverDefault ? { ...pool, url: serverDefault } : undefined;
}

/** What nodemailer is given for one message (the benchmark's bare loop sends the same). */
export function mailOptions(message: EmailMessage): SendMailOptions {
  return {
    from: message.from,
    replyTo: message.replyTo,
    to: message.to,
    subject: message.subject,
    html: message.html,
    text: message.text,
    messageId: message.messageId,
    headers: message.headers,
  };
}

/** Classifies a nodemailer error: 5xx is permanent, a refused recipient a bounce; the rest is worth a retry. */
export function classifySmtpError(error: unknown): SendOutcome {
  const e = (error ?? {}) as NodemailerError & { permanent?: boolean };
  const detail = [e.code, e.response ?? (error instanceof Error ? error.message : String(error))]
    .filter(Boolean)
    .join(' ');
  const code = e.responseCode;
  // Bad credentials are a destination setting someone will fix: retry rather than kill every delivery.
  if (typeof code !== 'number' || e.code === 'EAUTH') return { kind: 'transient', error: `smtp: ${detail}` };
  const permanent = e.permanent ?? (code >= 500 && code !== 503);
  if (!permanent) return { kind: 'transient', error: `smtp ${code}: ${detail}` };
  const recipientRefused = e.command === 'RCPT TO' || e.code === 'EENVELOPE';
  return {
    kind: 'permanent',
    error: `smtp ${code}: ${detail}`,
    bounce: recipientRefused && code >= 550 && code <= 553,
  };
}

/**
 * One pooled SMTP transport per destination, made on first use and replaced (the old one closed)
 * when the destination's settings change or it is deleted.
 */
@Injectable()
export class EmailSender implements OnModuleDestroy {
  private readonly logger = new Logger(EmailSender.name);
  private readonly transports = new Map<string, PooledTransport>();

  constructor(private readonly config: AppConfig) {}

  get serverDefault(): string | undefined {
    return this.config.SMTP_URL ?? (devMailSinkEnabled(this.config) ? devMailSinkUrl(this.config) : undefined);
  }

  /**
   * Sends through the destination's pool, at most one message per connection at a time; `ready`
   * is asked when a connection is free, and a message it refuses is not sent (a transient outcome).
   */
  async send(
    destinationId: string,
    version: Date,
    config: EmailConfig,
    message: EmailMessage,
    ready: ReadyToSend,
  ): Promise<SendOutcome> {
    const pooled = this.transportFor(destinationId, version.getTime(), config);
    if (!pooled) {
      return { kind: 'transient', error: 'no SMTP server: the destination has none and SMTP_URL is not set' };
    }
    return pooled.gate.run(
      ready,
      async (): Promise<SendOutcome> => {
        try {
          const info = await pooled.transport.sendMail(mailOptions(message));
          const sent = info as { messageId?: string; serverMessageId?: string };
          return { kind: 'sent', providerMessageId: sent.serverMessageId ?? sent.messageId };
        } catch (error) {
          return classifySmtpError(error);
        }
      },
      () => ({ kind: 'transient', error: 'not sent: the claim ran out while waiting for an SMTP connection' }),
    );
  }

  /** Closes the destination's pool (after it was changed or deleted); in-flight messages finish first. */
  release(destinationId: string, unlessVersion?: number): void {
    const current = this.transports.get(destinationId);
    if (!current || current.version === unlessVersion) return;
    this.transports.delete(destinationId);
    current.transport.close();
  }

  onModuleDestroy(): void {
    for (const id of [...this.transports.keys()]) this.release(id);
  }

  private transportFor(destinationId: string, version: number, config: EmailConfig): PooledTransport | undefined {
    const current = this.transports.get(destinationId);
    if (current && current.version >= version) return current;
    this.release(destinationId);
    const options = smtpOptions(config, this.serverDefault);
    if (!options) return undefined;
    const transport = nodemailer.createTransport({ ...options, pool: true });
    transport.on('error', (error: Error) =>
      this.logger.warn(`SMTP pool of destination ${destinationId}: ${error.message}`),
    );
    const pooled = { version, transport, gate: new SendGate(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS) };
    this.transports.set(destinationId, pooled);
    return pooled;
  }
}
