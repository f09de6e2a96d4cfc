import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule, runsApi } from './app.module';
import { AppConfig } from './config/app-config';
import { createValidationPipe } from './common/validation';

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
export async function createPersonae(config: AppConfig): Promise<Personae> {
  const module = AppModule.forRoot(config);
  if (!runsApi(config.ROLE)) {
    const app = await NestFactory.createApplicationContext(module, { bufferLogs: true });
    app.useLogger(app.get(Logger));
    app.enableShutdownHooks();
    return { config, app, close: () => app.close() };
  }
  const http = await NestFactory.create<NestFastifyApplication>(
    module,
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, trustProxy: true }),
    { bufferLogs: true },
  );
  http.useLogger(http.get(Logger));
  http.useGlobalPipes(createValidationPipe());
  http.enableShutdownHooks();
  setUpOpenApi(http);
  await http.init();
  await http.getHttpAdapter().getInstance().ready();
  return { config, app: http, http, close: () => http.close() };
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
