import type { AddressInfo } from 'node:net';

import { simpleParser } from 'mailparser';
import { SMTPServer, SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  html: string | null;
  text: string | null;
  messageId: string;
  headers: Map<string, string>;
  raw: string;
  receivedAt: number;
}

/** Decides the reply to a message (after its data arrived): undefined accepts it with 250. */
export type Reply = (mail: ReceivedMail, attempt: number) => { code: number; message: string } | undefined;

export interface SmtpTestServerOptions {
  /** Refuses these recipients at RCPT TO with 550. */
  rejectRecipients?: string[];
  /** Custom reply after DATA (451 once, 550…). */
  reply?: Reply;
  /** Waits this long after the data arrived before answering (a slow server). */
  delayMs?: number;
  /** Called as soon as a message's data has arrived, before the delay. */
  onData?: () => void;
}

class SmtpReplyError extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message);
  }
}

/**
 * A real SMTP server on loopback that parses what it receives. Like a careful MTA, it takes
 * responsibility for a message only when it answers 250 to a client that is still connected.
 */
export class SmtpTestServer {
  readonly accepted: ReceivedMail[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly closed = new Set<string>();
  inFlight = 0;
  /** The most messages that were ever between their data and the server's answer at once. */
  maxInFlight = 0;
  lastAcceptedAt = 0;

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(options: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
    const holder: { self?: SmtpTestServer } = {};
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 10 * 1024 * 1024,
      onRcptTo: (address, _session, callback) => {
        if (options.rejectRecipients?.includes(address.address.toLowerCase())) {
          callback(new SmtpReplyError('5.1.1 no such user', 550));
        } else callback();
      },
      onClose: (session: SMTPServerSession) => holder.self?.closed.add(session.id),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          options.onData?.();
          if (holder.self) {
            holder.self.inFlight += 1;
            holder.self.maxInFlight = Math.max(holder.self.maxInFlight, holder.self.inFlight);
          }
          const answer = async () => {
            if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
            const parsed = await simpleParser(raw);
            const mail: ReceivedMail = {
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              text: parsed.text ?? null,
              messageId: parsed.messageId ?? '',
              headers: new Map(parsed.headerLines.map((h) => [h.key, h.line.slice(h.key.length + 1).trim()])),
              raw,
              receivedAt: Date.now(),
            };
            const key = mail.messageId;
            const attempt = (holder.self?.attempts.get(key) ?? 0) + 1;
            holder.self?.attempts.set(key, attempt);
            const reply = options.reply?.(mail, attempt);
            if (reply) return callback(new SmtpReplyError(reply.message, reply.code));
            if (holder.self && !holder.self.closed.has(session.id)) {
              holder.self.accepted.push(mail);
              holder.self.lastAcceptedAt = Date.now();
            }
            callback();
          };
          answer()
            .catch((error: Error) => callback(error))
            .finally(() => {
              if (holder.self) holder.self.inFlight -= 1;
            });
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.server.address() as AddressInfo).port;
    holder.self = new SmtpTestServer(server, port);
    return holder.self;
  }

  /** How many attempts reached DATA for a Message-ID (accepted or not). */
  attemptsFor(messageId: string): number {
    return this.attempts.get(messageId) ?? 0;
  }

  to(address: string): ReceivedMail[] {
    return this.accepted.filter((m) => m.to.includes(address.toLowerCase()));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
