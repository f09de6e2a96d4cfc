/**
 * A local SMTP server in its own process (so its CPU is not the bench's): accepts everything,
 * reports each accepted message's recipient and acceptance time to the parent in small batches.
 */
import type { AddressInfo } from 'node:net';

import { SMTPServer } from 'smtp-server';

export interface SinkReport {
  accepted: { to: string; at: number; bytes: number }[];
}

let pending: SinkReport['accepted'] = [];

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  maxClients: 1000,
  onData(stream, session, callback) {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('end', () => {
      const at = Date.now();
      for (const r of session.envelope.rcptTo) pending.push({ to: r.address.toLowerCase(), at, bytes });
      callback();
    });
  },
});

setInterval(() => {
  if (pending.length === 0) return;
  process.send?.({ accepted: pending } satisfies SinkReport);
  pending = [];
}, 20).unref();

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
