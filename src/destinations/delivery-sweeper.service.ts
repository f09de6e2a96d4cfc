import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import { DeliveryQueuesService } from '../queues/delivery-queues.service';
import { MaintenanceTasks } from '../queues/maintenance-tasks.service';
import { DeliveryRepository } from './delivery.repository';

export const SWEEP_INTERVAL_MS = 5_000;
/** A `queued` delivery younger than this is still on its way into Redis; leave it to its producer. */
export const SWEEP_GRACE_MS = 10_000;
const PAGE = 500;
const FIRST_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Finds deliveries Redis lost (a Redis restart without persistence, a producer that died between
 * its commit and its enqueue, a job BullMQ gave up on) and puts them back on their queue. Job ids
 * are delivery ids, so re-adding a job that is still waiting, delayed or active changes nothing;
 * a job BullMQ already finished (completed/failed) is removed first so the id can be used again.
 * The claim in Postgres keeps any of this from sending twice.
 */
@Injectable()
export class DeliverySweeperService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeliverySweeperService.name);
  private running?: Promise<number>;
  private cursor = FIRST_ID;

  constructor(
    private readonly repository: DeliveryRepository,
    private readonly queues: DeliveryQueuesService,
    private readonly maintenance: MaintenanceTasks,
  ) {}

  /** A job scheduler on the maintenance queue runs the sweep (once per interval across all workers). */
  onModuleInit(): void {
    this.maintenance.register({ name: 'sweep-deliveries', everyMs: SWEEP_INTERVAL_MS, run: () => this.tick() });
  }

  async onModuleDestroy(): Promise<void> {
    await this.running?.catch(() => 0);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.sweep();
    try {
      const requeued = await this.running;
      if (requeued > 0) this.logger.log(`re-enqueued ${requeued} deliveries found in Postgres but not in Redis`);
    } catch (error) {
      this.logger.warn(
        `delivery sweep failed, next in ${SWEEP_INTERVAL_MS} ms: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.running = undefined;
    }
  }

  /** One page of overdue deliveries; answers how many were put back on a queue. */
  async sweep(): Promise<number> {
    const refs = await this.repository.overdue(SWEEP_GRACE_MS, this.cursor, PAGE);
    this.cursor = refs.length < PAGE ? FIRST_ID : (refs[refs.length - 1]?.id ?? FIRST_ID);
    const lost = new Map<string, { id: string }[]>();
    for (const ref of refs) {
      const queue = this.queues.queueFor(ref.destinationId);
      const state = await queue.getJobState(ref.id);
      if (state === 'completed' || state === 'failed') await queue.remove(ref.id);
      else if (state !== 'unknown') continue;
      lost.set(ref.destinationId, [...(lost.get(ref.destinationId) ?? []), { id: ref.id }]);
    }
    // One job each, under the delivery id, so that the next sweep finds them. A delivery that
    // waits in a batch job (whose id is not its own) for longer than the grace gets one too: the
    // claim keeps the two jobs from sending it twice.
    await Promise.all([...lost].map(([destinationId, singles]) => this.queues.enqueueSingles(destinationId, singles)));
    return [...lost.values()].reduce((n, singles) => n + singles.length, 0);
  }
}
