import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { CaughtMail, DevMailSink } from './dev-mail-sink';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(messages: CaughtMail[]): string {
  const items = messages
    .map((m) => {
      const headers = Object.entries(m.headers)
        .filter(([key]) => key.startsWith('list-'))
        .map(([key, value]) => `<div><code>${escapeHtml(key)}: ${escapeHtml(value)}</code></div>`)
        .join('');
      // The HTML body is shown in a sandboxed iframe: no scripts, no access to this page.
      const body = m.html
        ? `<iframe sandbox srcdoc="${escapeHtml(m.html)}" style="width:100%;height:16rem;border:1px solid #ddd"></iframe>`
        : `<pre>${escapeHtml(m.text ?? '')}</pre>`;
      return `<article><h2>${escapeHtml(m.subject)}</h2>
<div>${escapeHtml(m.receivedAt.toISOString())} · from ${escapeHtml(m.from)} · to ${escapeHtml(m.to.join(', '))}</div>
<div><code>Message-ID: ${escapeHtml(m.messageId)}</code></div>${headers}${body}</article>`;
    })
    .join('<hr>');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Caught mail</title>
<meta http-equiv="refresh" content="10"><style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}</style></head>
<body><h1>Caught mail (${messages.length})</h1><p>The demo's local SMTP sink; newest first, refreshes every 10 s.</p>
${items || '<p>Nothing yet: connect an audience to an email destination.</p>'}</body></html>`;
}

/** Only in the demo without SMTP_URL: the mail the local sink caught. */
@ApiExcludeController()
@Controller('dev/mail')
export class DevMailController {
  constructor(private readonly sink: DevMailSink) {}

  @Get()
  async list(@Res() reply: FastifyReply): Promise<void> {
    if (!this.sink.enabled)
      throw new NotFoundException('the demo mail sink is not running (PERSONAE_DEMO=1 without SMTP_URL)');
    await reply.header('content-type', 'text/html; charset=utf-8').send(render(this.sink.messages));
  }
}
