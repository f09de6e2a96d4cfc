/**
 * A local receiver of Segment's /v1/batch in its own process (so its CPU is not the bench's):
 * gunzips and parses every request, answers 200, and reports to the parent, in small batches,
 * how many messages each request held and when; on request, the bodies it received (decompressed),
 * so that the bare loop can post the same batches.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface BatchSinkReport {
  received: { messages: number; at: number }[];
}

export type BatchSinkCommand = { capture: boolean } | { send: 'bodies' };

let pending: BatchSinkReport['received'] = [];
let capture = false;
let bodies: string[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const json = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const { batch } = JSON.parse(json) as { batch: unknown[] };
    if (capture) bodies.push(json);
    pending.push({ messages: batch.length, at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
  });
});
server.keepAliveTimeout = 30_000;

process.on('message', (command: BatchSinkCommand) => {
  if ('capture' in command) {
    capture = command.capture;
    if (capture) bodies = [];
  } else {
    process.send?.({ bodies });
  }
});

setInterval(() => {
  if (pending.length === 0) return;
  process.send?.({ received: pending } satisfies BatchSinkReport);
  pending = [];
}, 20).unref();

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
