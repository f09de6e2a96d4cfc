import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { UnsupportedMediaTypeException } from '@nestjs/common';

/** Paths of the Segment-compatible tracking API. */
export const TRACKING_PREFIX = '/v1/';

/**
 * "500 KB a request": the application's body limit (512 KiB), which Fastify also enforces on the
 * decompressed stream. Checked here first when Content-Length says so, to answer in our error shape.
 */
export const TRACKING_BODY_LIMIT_BYTES = 512 * 1024;

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

/** Browser libraries call the tracking API from any origin; oversized bodies are refused before upload. */
async function trackingRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!request.url.startsWith(TRACKING_PREFIX)) return;
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
      .header('access-control-allow-headers', 'Authorization, Content-Type, Content-Encoding')
      .header('access-control-max-age', '86400')
      .send();
  }
}

export function installTrackingHooks(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', trackingRequest);
  fastify.addHook('preParsing', decompress);
}
