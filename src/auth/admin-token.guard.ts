import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { AppConfig } from '../config/app-config';
import { bearerToken, safeEqual } from './credentials';
import { FailedAuthLimiter } from './failed-auth-limiter.service';

/** Admits requests bearing ADMIN_TOKEN (creating workspaces, the queue dashboard). */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly limiter: FailedAuthLimiter,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.limiter.guard(context, async (address) => {
      await this.limiter.assertAllowed(address);
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new UnauthorizedException('Authorization: Bearer <admin token> is required');
      if (!safeEqual(token, this.config.ADMIN_TOKEN)) {
        await this.limiter.recordFailure(address);
        throw new UnauthorizedException('the admin token is not valid');
      }
      return true;
    });
  }
}
