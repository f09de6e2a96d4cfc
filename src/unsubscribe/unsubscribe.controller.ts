import { Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { HtmlAnswer, UnsubscribeService } from './unsubscribe.service';

/** Public pages behind the List-Unsubscribe links of emails; the signed token is the only credential. */
@ApiExcludeController()
@Controller('u')
export class UnsubscribeController {
  constructor(private readonly unsubscribe: UnsubscribeService) {}

  @Get(':token')
  async page(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    await send(reply, await this.unsubscribe.confirmation(token));
  }

  @Post(':token')
  async confirm(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    await send(reply, await this.unsubscribe.unsubscribe(token));
  }
}

async function send(reply: FastifyReply, answer: HtmlAnswer): Promise<void> {
  await reply
    .status(answer.status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(answer.html);
}
