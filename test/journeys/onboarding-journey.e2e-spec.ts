import { waitFor } from '../support/wait-for';
import { createJourney, DAY, EMAIL, JourneyBed } from './journey-support';

/**
 * The onboarding program of the seeds: people who sign up and stall get a nudge after a week
 * (technical or not), and a second one a week later; people who progress get nothing.
 */
describe('journeys: onboarding nudges', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  it('nudges only those who stall, by persona, and stops at the goal', async () => {
    const { ws, f, api } = await bed.workspace();
    await f.audience('signed-up', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'onboarding',
      name: 'Onboarding',
      entry: { audience: 'signed-up' },
      exit: { when: 'performed "Destination Enabled"' },
      steps: [
        {
          id: 'wait-source',
          type: 'wait_until',
          condition: 'performed "Source Connected"',
          timeout: { amount: 7, unit: 'days' },
          next: 'progressed',
          timeoutNext: 'persona',
        },
        {
          id: 'persona',
          type: 'branch',
          condition: 'trait persona = "technical"',
          then: 'tech-nudge',
          else: 'biz-nudge',
        },
        {
          id: 'tech-nudge',
          type: 'send',
          destination: email,
          subject: 'Connect a source with the API, {{ traits.name }}',
          next: 'second-wait',
        },
        {
          id: 'biz-nudge',
          type: 'send',
          destination: email,
          subject: 'Connect a source in two clicks, {{ traits.name }}',
          next: 'second-wait',
        },
        { id: 'second-wait', type: 'wait', duration: { amount: 7, unit: 'days' }, next: 'second-nudge' },
        { id: 'second-nudge', type: 'send', destination: email, subject: 'Still stuck, {{ traits.name }}?' },
        { id: 'progressed', type: 'exit' },
      ],
    });

    const tech = await f.profile({ traits: { name: 'Tess', email: 'tess@example.test', persona: 'technical' } });
    const biz = await f.profile({ traits: { name: 'Bill', email: 'bill@example.test', persona: 'marketer' } });
    const mover = await f.profile({ traits: { name: 'Mo', email: 'mo@example.test', persona: 'technical' } });
    const goal = await f.profile({ traits: { name: 'Gail', email: 'gail@example.test', persona: 'marketer' } });
    for (const id of [tech, biz, mover, goal]) await bed.track(f, id, 'Signed Up');
    for (const id of [tech, biz, mover, goal]) {
      await bed.waitForRun(journeyId, id, (r) => r.step_id === 'wait-source', 'the run to wait for a source');
    }

    // Day 2: one connects a source (the wait ends at once), day 3: one reaches the goal.
    bed.clock.advance(2 * DAY);
    await bed.track(f, mover, 'Source Connected');
    await bed.waitForRun(journeyId, mover, (r) => r.status === 'completed', 'the mover to leave through "progressed"');
    bed.clock.advance(DAY);
    await bed.track(f, goal, 'Destination Enabled');
    await bed.waitForRun(journeyId, goal, (r) => r.status === 'converted', 'the goal to convert the run');

    // Day 7 (+1 minute): the two who stalled get their persona's nudge.
    await bed.advance(4 * DAY + 60_000);
    await waitFor(
      () => bed.smtp.to('tess@example.test').length === 1 && bed.smtp.to('bill@example.test').length === 1,
      {
        what: 'the first nudges',
      },
    );
    expect(bed.subjects('tess@example.test')).toEqual(['Connect a source with the API, Tess']);
    expect(bed.subjects('bill@example.test')).toEqual(['Connect a source in two clicks, Bill']);

    // A sweep that runs again changes nothing: no step is repeated.
    await bed.advance(60_000);
    expect((await bed.runOf(journeyId, tech))!.step_id).toBe('second-wait');

    // Day 14: the second nudge; then the runs are over.
    await bed.advance(7 * DAY);
    await waitFor(
      () => bed.smtp.to('tess@example.test').length === 2 && bed.smtp.to('bill@example.test').length === 2,
      {
        what: 'the second nudges',
      },
    );
    expect(bed.subjects('bill@example.test')[1]).toBe('Still stuck, Bill?');
    expect((await bed.runOf(journeyId, tech))!.status).toBe('completed');
    expect(bed.smtp.to('mo@example.test')).toEqual([]);
    expect(bed.smtp.to('gail@example.test')).toEqual([]);

    const history = await bed.sql.rows<{ step_id: string; outcome: string }>(
      `SELECT h.step_id, h.outcome FROM journey_run_steps h JOIN journey_runs r ON r.id = h.run_id
       WHERE r.profile_id = $1 ORDER BY h.seq`,
      [tech],
    );
    expect(history).toEqual([
      { step_id: 'wait-source', outcome: 'timeout' },
      { step_id: 'persona', outcome: 'then' },
      { step_id: 'tech-nudge', outcome: 'sent' },
      { step_id: 'second-wait', outcome: 'passed' },
      { step_id: 'second-nudge', outcome: 'sent' },
    ]);
  });
});
