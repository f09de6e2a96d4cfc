import { Module, OnModuleInit, UnsupportedMediaTypeException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

import { UnsubscribeController } from './unsubscribe.controller';
import { UnsubscribeRepository } from './unsubscribe.repository';
import { UnsubscribeService } from './unsubscribe.service';
import { UnsubscribeLinks } from './unsubscribe-links';

/** Form bodies are only ever accepted on the unsubscribe pages: the rest of the API speaks JSON. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

@Module({
  controllers: [UnsubscribeController],
  providers: [UnsubscribeService, UnsubscribeRepository, UnsubscribeLinks],
})
export class UnsubscribeModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * RFC 8058 one-click POSTs carry `List-Unsubscribe=One-Click` as a form body. The body is not
   * needed (the token is the credential), so it is read as text and dropped.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    for (const type of FORM_TYPES) {
      if (fastify.hasContentTypeParser(type)) continue;
      fastify.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 64 * 1024 }, (request, _body, done) => {
        if (request.url.startsWith('/u/')) done(null, {});
        else
          done(new UnsupportedMediaTypeException(`Content-Type ${type} is not supported here; send JSON`), undefined);
      });
    }
  }
}
