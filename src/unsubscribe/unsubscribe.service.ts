import { Injectable } from '@nestjs/common';

import { UnsubscribeRepository } from './unsubscribe.repository';
import { UnsubscribeLinks } from './unsubscribe-links';
import { confirmPage, donePage, invalidLinkPage } from './unsubscribe-page';

export interface HtmlAnswer {
  status: number;
  html: string;
}

@Injectable()
export class UnsubscribeService {
  constructor(
    private readonly links: UnsubscribeLinks,
    private readonly repository: UnsubscribeRepository,
  ) {}

  /** GET: a confirmation page. Link scanners follow GETs, so a GET never unsubscribes anyone. */
  async confirmation(token: string): Promise<HtmlAnswer> {
    const claim = this.links.verify(token);
    const sender = claim && (await this.repository.workspaceName(claim.workspaceId));
    if (!claim || sender === undefined) return { status: 400, html: invalidLinkPage() };
    return { status: 200, html: confirmPage(claim.email, sender) };
  }

  /** POST (the page's form, or a mail client's RFC 8058 one-click): suppresses the address. */
  async unsubscribe(token: string): Promise<HtmlAnswer> {
    const claim = this.links.verify(token);
    if (!claim) return { status: 400, html: invalidLinkPage() };
    const sender = await this.repository.workspaceName(claim.workspaceId);
    if (sender === undefined || !(await this.repository.suppress(claim.workspaceId, claim.email))) {
      return { status: 400, html: invalidLinkPage() };
    }
    return { status: 200, html: donePage(claim.email, sender) };
  }
}
