import { WorkerHost } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Worker } from 'bullmq';

/**
 * Every BullMQ worker of this process: the @Processor classes Nest created, plus workers that
 * services create at run time (one per destination) and register here. Lets the database
 * watchdog pause them all while Postgres is down.
 */
@Injectable()
export class WorkerRegistry {
  private readonly dynamic = new Set<Worker>();

  constructor(private readonly discovery: DiscoveryService) {}

  register(worker: Worker): void {
    this.dynamic.add(worker);
  }

  unregister(worker: Worker): void {
    this.dynamic.delete(worker);
  }

  all(): Worker[] {
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .flatMap((host) => {
        try {
          return [host.worker];
        } catch {
          return []; // a WorkerHost whose worker is not created yet
        }
      });
    return [...hosts, ...this.dynamic];
  }
}
