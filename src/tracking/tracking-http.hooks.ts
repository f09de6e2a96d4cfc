import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths of the Segment-compatible tracking API. */
export const TRACKING_PREFIX = '/v1/';

/**
 * "500 KB a request": the application's body limit (512 KiB), which Fastify also enforces on the
 * decompressed stream. Checked here first when Content-Length says so, to answer in our error shape.
 */
export const TRACKING_BODY_LIMIT_BYTES = 512 * 1024;

/**
 * Segment's API reads a tracking body as JSON whatever its label: rudder-sdk-node sends gzipped
 * JSON labelled `application/x-www-form-urlencoded`, other clients `application/octet-stream` or
 * no label at all. Every tracking body is relabelled with this type before Fastify picks a parser,
 * so one parser takes them all (and no other parser, such as the unsubscribe pages' form parser,
 * ever sees one); its text is parsed as JSON by the service, which names the field when it is not.
 */
const TRACKING_BODY_TYPE = 'application/x-personae-tracking';

/** Always allowed in a preflight: what Segment's libraries send. */
const BASE_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Content-Encoding'];
/** An HTTP header name (RFC 9110 token), of a sane length. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Set by the proxies in front of Personae, which it may trust: a web page must not set them. */
const PROXY_HEADER = /^(?:forwarded|via|x-real-ip|x-forwarded-.*)$/i;
const MAX_REQUESTED_HEADERS = 32;

type CountingStream = Transform & { receivedEncodedLength: number };

/** Fastify answers errors thrown by hooks with their statusCode. */
class UnsupportedEncodingError extends UnsupportedMediaTypeException {}

function decoderFor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * Decompresses `Content-Encoding: gzip` (also deflate, br) tracking bodies. Fastify counts the
 * bytes of the returned stream against the body limit, so the limit applies to the decompressed
 * body and a gzip bomb stops at the limit; `receivedEncodedLength` lets Fastify still check the
 * compressed Content-Length.
 */
async function decompress(request: FastifyRequest, _reply: FastifyReply, payload: Readable): Promise<Readable> {
  if (!request.url.startsWith(TRACKING_PREFIX)) return payload;
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return payload;
  const decoder = decoderFor(encoding);
  if (!decoder) throw new UnsupportedEncodingError(`Content-Encoding ${encoding} is not supported; use gzip`);
  const stream = decoder as CountingStream;
  stream.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    stream.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (error) => stream.destroy(error));
  return payload.pipe(stream);
}

/**
 * The request headers a preflight may allow: the tracking API is open to every origin and never
 * uses cookies (no `Access-Control-Allow-Credentials`), so a page can make a browser send nothing
 * it could not send with curl; the headers a browser asks for are allowed (RudderStack's SDK sends
 * `AnonymousId`, `SentAt`, `Rsa-*`; users add their own), except those a trusted proxy would set.
 */
function allowedRequestHeaders(requested: string | undefined): string {
  const allowed = new Map(BASE_ALLOWED_HEADERS.map((name) => [name.toLowerCase(), name]));
  const names = (requested ?? '').split(',').map((name) => name.trim());
  for (const name of names.slice(0, MAX_REQUESTED_HEADERS)) {
    if (HEADER_NAME.test(name) && !PROXY_HEADER.test(name) && !allowed.has(name.toLowerCase())) {
      allowed.set(name.toLowerCase(), name);
    }
  }
  return [...allowed.values()].join(', ');
}

/** Browser libraries call the tracking API from any origin; oversized bodies are refused before upload. */
async function trackingRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!request.url.startsWith(TRACKING_PREFIX)) return;
  if (request.method === 'POST') request.raw.headers['content-type'] = TRACKING_BODY_TYPE;
  void reply.header('access-control-allow-origin', request.headers.origin ?? '*');
  void reply.header('vary', 'Origin');
  const length = Number(request.headers['content-length']);
  if (length > TRACKING_BODY_LIMIT_BYTES) {
    await reply.code(413).send({
      statusCode: 413,
      error: 'Payload Too Large',
      message: `body is ${length} bytes; a request may be at most ${TRACKING_BODY_LIMIT_BYTES} bytes (500 KB)`,
      errors: [{ field: 'body', reason: `must be at most ${TRACKING_BODY_LIMIT_BYTES} bytes` }],
    });
    return;
  }
  if (request.method === 'OPTIONS') {
    await reply
      .code(204)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', allowedRequestHeaders(request.headers['access-control-request-headers']))
      .header('access-control-max-age', '86400')
      .header('vary', 'Origin, Access-Control-Request-Headers')
      .send();
  }
}

export function installTrackingHooks(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', trackingRequest);
  fastify.addHook('preParsing', decompress);
  fastify.addContentTypeParser(TRACKING_BODY_TYPE, { parseAs: 'string' }, (_request, body, done) => done(null, body));
}
