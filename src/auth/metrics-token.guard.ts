import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { AppConfig } from '../config/app-config';
import { bearerToken, safeEqual } from './credentials';
import { FailedAuthLimiter } from './failed-auth-limiter.service';

/**
 * Admits a Prometheus scraper: `Authorization: Bearer` with METRICS_TOKEN when it is set (so a
 * scraper need not hold the admin token), or with ADMIN_TOKEN.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly limiter: FailedAuthLimiter,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.limiter.guard(context, async (address) => {
      await this.limiter.assertAllowed(address);
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new UnauthorizedException('Authorization: Bearer <metrics token or admin token> is required');
      const metricsToken = this.config.METRICS_TOKEN;
      const valid =
        safeEqual(token, this.config.ADMIN_TOKEN) || (metricsToken !== undefined && safeEqual(token, metricsToken));
      if (!valid) {
        await this.limiter.recordFailure(address);
        throw new UnauthorizedException('the metrics token is not valid');
      }
      return true;
    });
  }
}
