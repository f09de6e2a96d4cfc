import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';

import { WorkspacesRepository } from '../workspaces/workspaces.repository';
import { bearerToken, hashToken } from './credentials';
import { FailedAuthLimiter } from './failed-auth-limiter.service';
import type { WorkspaceRequest } from './workspace-request';

/** Scopes a management request to the workspace of its `Authorization: Bearer <api token>`. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly limiter: FailedAuthLimiter,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.limiter.guard(context, async (address) => {
      await this.limiter.assertAllowed(address);
      const request = context.switchToHttp().getRequest<WorkspaceRequest>();
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new UnauthorizedException('Authorization: Bearer <api token> is required');
      const workspaceId = await this.workspaces.findWorkspaceIdByTokenHash(hashToken(token));
      if (!workspaceId) {
        await this.limiter.recordFailure(address);
        throw new UnauthorizedException('the API token is not valid');
      }
      request.workspaceId = workspaceId;
      return true;
    });
  }
}
