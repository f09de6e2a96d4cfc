import { Queue } from 'bullmq';

import { loadConfig } from '../../src/config/app-config';
import { EvaluationTrigger, NUDGE_SPACING_MS } from '../../src/membership/evaluation-trigger.service';
import { evaluateDeduplicationId, EvaluateJob } from '../../src/membership/membership-jobs';
import { bullOptions } from '../../src/queues/queue-connection';
import { TEST_REDIS_URL, testQueuePrefix } from '../support/app';
import { waitFor } from '../support/wait-for';

/**
 * The real evaluate queue under a prefix of its own, its adds counted as they start: `at` says
 * when each one started (by default the time the add is called).
 */
function countedQueue(at: () => number = Date.now): { queue: Queue<EvaluateJob>; adds: number[] } {
  const config = loadConfig({
    DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
    REDIS_URL: TEST_REDIS_URL,
    ADMIN_TOKEN: 'unused-admin-token-000',
    QUEUE_PREFIX: testQueuePrefix(),
  });
  const queue = new Queue<EvaluateJob>('evaluate', bullOptions(config));
  const adds: number[] = [];
  const addBulk = queue.addBulk.bind(queue);
  queue.addBulk = (jobs) => {
    adds.push(at());
    return addBulk(jobs);
  };
  return { queue, adds };
}

describe('Evaluation nudges', () => {
  it('spaces the adds of a busy process and still follows the last nudge with an add', async () => {
    // Each add as the trigger started it, by its own reading of the clock: read again in the add,
    // a loaded machine that preempts the process between the two readings makes two adds look
    // closer than they started (17 ms apart for a spacing of 20).
    const { queue, adds } = countedQueue(() => (trigger as unknown as { lastAddAt: number }).lastAddAt);
    const trigger = new EvaluationTrigger(queue);
    try {
      // A busy API: nudges at every turn of the event loop for 300 ms. Not a timer per nudge: on a
      // loaded machine a 1 ms timer takes ten times longer, and the test would count few nudges.
      const started = Date.now();
      let nudges = 0;
      while (Date.now() - started < 300) {
        for (let i = 0; i < 10; i += 1) trigger.nudge('11111111-1111-4111-8111-111111111111');
        nudges += 10;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const lastNudge = Date.now();
      trigger.nudge('22222222-2222-4222-8222-222222222222');

      // The last workspace nudged is on the queue, by an add that started after its nudge.
      await waitFor(
        async () =>
          (await queue.getDeduplicationJobId(evaluateDeduplicationId('22222222-2222-4222-8222-222222222222'))) !== null,
        {
          what: 'the last nudge added',
        },
      );
      expect(adds.at(-1)).toBeGreaterThanOrEqual(lastNudge);
      // Far fewer adds than nudges, each starting a spacing after the one before.
      expect(adds.length).toBeLessThan(nudges / 5);
      for (let i = 1; i < adds.length; i += 1) {
        expect((adds[i] ?? 0) - (adds[i - 1] ?? 0)).toBeGreaterThanOrEqual(NUDGE_SPACING_MS);
      }
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
