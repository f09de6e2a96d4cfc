import { DynamicModule, Module, Type } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, Role } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { PrismaModule } from './prisma/prisma.module';
import { QueuesModule } from './queues/queues.module';
import { RedisModule } from './redis/redis.module';
import { WorkspacesCoreModule } from './workspaces/workspaces-core.module';
import { WorkspacesModule } from './workspaces/workspaces.module';

/** Modules that serve HTTP. */
const apiModules: Type[] = [HealthModule, WorkspacesModule];

/** Modules that process BullMQ jobs, run schedulers and relays. */
const workerModules: Type[] = [];

export function runsApi(role: Role): boolean {
  return role === 'api' || role === 'all';
}

export function runsWorkers(role: Role): boolean {
  return role === 'worker' || role === 'all';
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            // Honour a caller's request id so one id follows a request across services.
            genReqId: (request, reply) => {
              const given = request.headers['x-request-id'];
              const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
              reply.setHeader('x-request-id', id);
              return id;
            },
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            autoLogging: { ignore: (request) => request.url === '/health' || request.url === '/metrics' },
          },
        }),
        PrismaModule,
        RedisModule,
        QueuesModule,
        WorkspacesCoreModule,
        ...(runsApi(config.ROLE) ? apiModules : []),
        ...(runsWorkers(config.ROLE) ? workerModules : []),
      ],
    };
  }
}
