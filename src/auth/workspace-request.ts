import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** A management request whose API token the guard has resolved to a workspace. */
export type WorkspaceRequest = FastifyRequest & { workspaceId?: string };

/** The id of the workspace the request's API token belongs to. */
export const CurrentWorkspace = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<WorkspaceRequest>();
  if (!request.workspaceId) throw new Error('CurrentWorkspace used on a route without ApiTokenGuard');
  return request.workspaceId;
});
