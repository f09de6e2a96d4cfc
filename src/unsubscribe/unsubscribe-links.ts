import { Injectable } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { signUnsubscribeToken, UnsubscribeClaim, unsubscribeKey, verifyUnsubscribeToken } from './unsubscribe-token';

/** Builds and checks the per-recipient unsubscribe links put in every email (RFC 8058). */
@Injectable()
export class UnsubscribeLinks {
  private readonly key: Buffer;

  constructor(private readonly config: AppConfig) {
    this.key = unsubscribeKey(config.ADMIN_TOKEN);
  }

  url(claim: UnsubscribeClaim): string {
    return `${this.config.publicUrl.replace(/\/+$/, '')}/u/${signUnsubscribeToken(this.key, claim)}`;
  }

  verify(token: string): UnsubscribeClaim | undefined {
    return verifyUnsubscribeToken(this.key, token);
  }
}
