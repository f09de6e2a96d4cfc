import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import nodemailer, {
  type NodemailerError,
  type SendMailOptions,
  type SMTPPoolOptions,
  type Transporter,
} from 'nodemailer';

import { AppConfig } from '../config/app-config';
import { AddressPolicy, literalAddress } from './address-policy';
import { SendOutcome, SMTP_TIMEOUTS } from './delivery-policy';
import { AddressRefusedError, resolveAllowed } from './destination-address';
import { DEFAULT_MAX_CONNECTIONS, EmailConfig } from './destination-config';
import { devMailSinkEnabled, devMailSinkUrl } from './dev-mail-sink';
import type { EmailMessage } from './email-message';
import { SendGate } from './send-gate';
import { smtpTarget, usesTls } from './smtp-target';

interface PooledTransport {
  version: number;
  transport: Transporter;
  gate: SendGate;
  /** The address a destination's host resolved to is used until then, then resolved (and checked) again. */
  pinnedUntil: number;
}

/** How long a checked address is used before the host name is resolved again. */
const ADDRESS_PIN_MS = 5 * 60_000;

/** Asked when a connection is free for the message: whether it may still be sent. */
export type ReadyToSend = () => boolean | Promise<boolean>;

/**
 * The SMTP server of a destination: its own, or the server's SMTP_URL (or the demo sink).
 * `connectTo` is the checked address of the destination's host (see EmailSender); the host name
 * stays the TLS server name, so certificates are still checked against it.
 */
export function smtpOptions(
  config: EmailConfig,
  serverDefault: string | undefined,
  connectTo?: string,
): SMTPPoolOptions | undefined {
  const pool: SMTPPoolOptions = {
    pool: true,
    maxConnections: config.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxMessages: 1_000,
    // Our own retries (with the claim, the backoff and the attempt count) replace nodemailer's
    // silent requeue of a message whose connection dropped mid-send.
    maxRequeues: 0,
    ...SMTP_TIMEOUTS,
  };
  const target = smtpTarget(config);
  // The operator's SMTP_URL is trusted as written (query options included).
  if (!target) return serverDefault ? { ...pool, url: serverDefault } : undefined;
  const host = connectTo ?? target.host;
  return {
    ...pool,
    host,
    port: target.port,
    secure: target.secure,
    requireTLS: target.requireTLS,
    ...(target.auth && { auth: target.auth }),
    // SNI and the certificate check need the name; a host written as an address has none.
    ...(literalAddress(target.host) === undefined && host !== target.host && { tls: { servername: target.host } }),
  };
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
  /** Transports being made (their host being resolved), shared by the messages that wait for them. */
  private readonly making = new Map<string, { version: number; transport: Promise<PooledTransport | undefined> }>();

  constructor(
    private readonly config: AppConfig,
    private readonly policy: AddressPolicy,
  ) {}

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
    let pooled: PooledTransport | undefined;
    try {
      pooled = await this.transportFor(destinationId, version.getTime(), config);
    } catch (error) {
      // The address is the destination's setting, not a state of the network: no retry.
      if (error instanceof AddressRefusedError)
        return { kind: 'final', status: 'dead', error: `refused: ${error.message}` };
      return { kind: 'transient', error: `smtp: ${error instanceof Error ? error.message : String(error)}` };
    }
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

  private transportFor(
    destinationId: string,
    version: number,
    config: EmailConfig,
  ): Promise<PooledTransport | undefined> {
    const current = this.transports.get(destinationId);
    if (current && current.version >= version && current.pinnedUntil > Date.now()) return Promise.resolve(current);
    const making = this.making.get(destinationId);
    if (making && making.version >= version) return making.transport;
    const transport = this.makeTransport(destinationId, version, config).finally(() => {
      if (this.making.get(destinationId)?.transport === transport) this.making.delete(destinationId);
    });
    this.making.set(destinationId, { version, transport });
    return transport;
  }

  /**
   * A destination's own server is connected to at an address checked against the address policy
   * (resolved here, once per ADDRESS_PIN_MS): nodemailer is handed that address, never the name,
   * so DNS cannot answer differently between the check and the connection.
   */
  private async makeTransport(
    destinationId: string,
    version: number,
    config: EmailConfig,
  ): Promise<PooledTransport | undefined> {
    const target = smtpTarget(config);
    let connectTo: string | undefined;
    if (target) {
      const [first] = await resolveAllowed(target.host, this.policy);
      if (!first) throw new Error(`${target.host} has no address`);
      if (target.auth && !usesTls(target) && !this.policy.isAllowedLoopback(first.address)) {
        throw new AddressRefusedError(
          'credentials are only sent over TLS: use smtps:// or secure: true, or requireTLS: true (STARTTLS)',
        );
      }
      connectTo = first.address;
    }
    const options = smtpOptions(config, this.serverDefault, connectTo);
    if (!options) return undefined;
    this.release(destinationId);
    const transport = nodemailer.createTransport({ ...options, pool: true });
    transport.on('error', (error: Error) =>
      this.logger.warn(`SMTP pool of destination ${destinationId}: ${error.message}`),
    );
    const pooled = {
      version,
      transport,
      gate: new SendGate(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS),
      pinnedUntil: target ? Date.now() + ADDRESS_PIN_MS : Number.POSITIVE_INFINITY,
    };
    this.transports.set(destinationId, pooled);
    return pooled;
  }
}
