import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController } from 'fastify';

import { AppModule, PersonaeOptions, runsApi } from './app.module';
import { RequestSignalInterceptor } from './common/request-signal';
import { SafetyNetFilter } from './common/safety-net.filter';
import { installUnstorableTextCheck } from './common/unstorable-text.hook';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { fastifyTrustProxy } from './config/trust-proxy';
import { createRootLogger, PinoNestLogger, requestId } from './logging/logger';
import { MetricsService } from './ops/metrics.service';
import { mountQueueDashboard } from './ops/queue-dashboard';

/** Bodies up to 500 KB are accepted by the tracking API; management bodies are far smaller. */
const BODY_LIMIT_BYTES = 512 * 1024;

export interface Personae {
  config: AppConfig;
  /** The HTTP application when the role serves the API, else an application context. */
  app: NestFastifyApplication | INestApplicationContext;
  http?: NestFastifyApplication;
  close(): Promise<void>;
}

/** Builds (but does not listen) the Personae process for `config.ROLE`. */
export async function createPersonae(config: AppConfig, options: PersonaeOptions = {}): Promise<Personae> {
  const module = AppModule.forRoot(config, options);
  const rootLogger = createRootLogger(config.LOG_LEVEL);
  const logger = new PinoNestLogger(rootLogger);
  if (!runsApi(config.ROLE)) {
    const app = await NestFactory.createApplicationContext(module, { logger });
    return { config, app, close: () => app.close() };
  }
  const http = await NestFactory.create<NestFastifyApplication>(
    module,
    new FastifyAdapter({
      bodyLimit: BODY_LIMIT_BYTES,
      trustProxy: fastifyTrustProxy(config.TRUST_PROXY),
      // "__proto__" is a valid JSON key that Segment accepts: dropped safely, not a 400 for the batch.
      onProtoPoisoning: 'remove',
      onConstructorPoisoning: 'remove',
      loggerInstance: rootLogger,
      genReqId: requestId,
      requestIdHeader: false,
      logController: new LogController({
        requestIdLogLabel: 'requestId',
        // Probes and scrapes every few seconds would drown the log.
        disableRequestLogging: (request) =>
          request.url === '/health' || request.url.startsWith('/health/') || request.url === '/metrics',
      }),
    }),
    { logger },
  );
  http
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (request, reply) => {
      void reply.header('x-request-id', request.id);
    });
  http.useGlobalPipes(createValidationPipe());
  http.useGlobalFilters(new SafetyNetFilter(http.getHttpAdapter()));
  installUnstorableTextCheck(http.getHttpAdapter().getInstance());
  http.useGlobalInterceptors(new RequestSignalInterceptor());
  recordHttpMetrics(http);
  mountQueueDashboard(http);
  setUpOpenApi(http);
  await http.init();
  await http.getHttpAdapter().getInstance().ready();
  return { config, app: http, http, close: () => http.close() };
}

function recordHttpMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(MetricsService);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpDuration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const document = new DocumentBuilder()
    .setTitle('Personae')
    .setDescription(
      'Self-hosted customer data platform: Segment-compatible tracking, profiles, audiences, destinations, funnels.',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .addBasicAuth()
    .build();
  SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, document), { jsonDocumentUrl: 'docs/json' });
}
