import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

import { AppConfig } from '../config/app-config';

export const DEV_MAIL_SINK_HOST = '127.0.0.1';
const KEEP = 200;

/** The quick start's demo (`PERSONAE_DEMO=1`) with no SMTP server configured catches mail locally. */
export function devMailSinkEnabled(config: AppConfig): boolean {
  return config.PERSONAE_DEMO && !config.SMTP_URL;
}

export function devMailSinkUrl(config: AppConfig): string {
  return `smtp://${DEV_MAIL_SINK_HOST}:${config.DEMO_MAIL_PORT}`;
}

export interface CaughtMail {
  receivedAt: Date;
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
}

/**
 * A real SMTP server on loopback for the demo, so that the demo delivers over SMTP exactly as
 * production does; it keeps the last messages in memory and shows them at /dev/mail.
 * Not for production: use your SMTP provider, or Mailpit with docker compose.
 */
@Injectable()
export class DevMailSink implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DevMailSink.name);
  private server?: SMTPServer;
  readonly messages: CaughtMail[] = [];

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.server !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!devMailSinkEnabled(this.config)) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      banner: 'Personae demo mail sink',
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (parsed) => {
            this.keep({
              receivedAt: new Date(),
              from: parsed.from?.text ?? '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              messageId: parsed.messageId ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              text: parsed.text ?? null,
              headers: Object.fromEntries(
                parsed.headerLines.map((h) => [h.key, h.line.slice(h.key.length + 1).trim()]),
              ),
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    server.on('error', (error) => this.logger.warn(`demo mail sink: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.DEMO_MAIL_PORT, DEV_MAIL_SINK_HOST, () => resolve());
    });
    this.server = server;
    this.logger.log(
      `demo mail sink listening on ${devMailSinkUrl(this.config)}; caught mail at ${this.config.publicUrl}/dev/mail`,
    );
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private keep(mail: CaughtMail): void {
    this.messages.unshift(mail);
    this.messages.length = Math.min(this.messages.length, KEEP);
    // Debug: the demo's backfill alone catches hundreds, which would bury the start-up banner.
    this.logger.debug(`caught mail to ${mail.to.join(', ')}: ${mail.subject}`);
  }
}
