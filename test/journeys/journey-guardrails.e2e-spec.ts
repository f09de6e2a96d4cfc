import { waitFor } from '../support/wait-for';
import { createJourney, EMAIL, JourneyBed, ReportBody, RunsBody } from './journey-support';

const HOUR = 3_600_000;

/** The frequency cap (workspace setting, skip or wait) and quiet hours in the person's time zone. */
describe('journeys: guardrails', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  async function twoEmails(mode: 'skip' | 'wait', address: string) {
    const { ws, f, api } = await bed.cappedWorkspace(mode);
    await f.audience('entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: `capped-${mode}`,
      name: 'Two emails in a row',
      entry: { audience: 'entry' },
      steps: [
        { id: 'one', type: 'send', destination: email, subject: 'One', next: 'two' },
        { id: 'two', type: 'send', destination: email, subject: 'Two' },
      ],
    });
    const person = await f.profile({ traits: { email: address } });
    await bed.track(f, person, 'Signed Up');
    return { journeyId, person, api };
  }

  it('skips a message over the cap and records it', async () => {
    const { journeyId, person, api } = await twoEmails('skip', 'skip@example.test');
    await bed.waitForRun(journeyId, person, (r) => r.status === 'completed', 'the run to finish');
    await waitFor(() => bed.smtp.to('skip@example.test').length === 1, { what: 'the first email' });
    const runs = await api.get(`/api/journeys/${journeyId}/runs?profileId=${person}`).expect(200);
    expect((runs.body as RunsBody).items[0]!.history.map((h) => `${h.stepId}:${h.outcome}`)).toEqual([
      'one:sent',
      'two:capped',
    ]);
    const report = await api.get(`/api/journeys/${journeyId}/report`).expect(200);
    expect((report.body as ReportBody).steps.find((s) => s.stepId === 'two')).toMatchObject({ capped: 1, sent: 0 });
    expect(bed.subjects('skip@example.test')).toEqual(['One']);
  });

  it('holds a message over the cap until the window allows it', async () => {
    const { journeyId, person } = await twoEmails('wait', 'wait@example.test');
    const held = await bed.waitForRun(journeyId, person, (r) => r.step_id === 'two', 'the second step');
    expect(held.status).toBe('active');
    await bed.advance(12 * HOUR);
    expect((await bed.runOf(journeyId, person))!.status).toBe('active');
    await bed.advance(12 * HOUR + 60_000);
    await waitFor(() => bed.smtp.to('wait@example.test').length === 2, { what: 'the second email a day later' });
    expect(bed.subjects('wait@example.test').sort()).toEqual(['One', 'Two']);
    const outcomes = await bed.sql.rows<{ outcome: string }>(
      'SELECT outcome FROM journey_run_steps h WHERE run_id = $1 ORDER BY seq',
      [held.id],
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['sent', 'held:cap', 'sent']);
  });

  it('holds sends during quiet hours in the person’s time zone', async () => {
    // The next 10:00 UTC (early March: New York is UTC-5, Paris UTC+1).
    const morning = new Date(bed.clock.now());
    morning.setUTCDate(morning.getUTCDate() + 1);
    morning.setUTCHours(10, 0, 0, 0);
    bed.clock.set(morning);
    const { ws, f, api } = await bed.workspace();
    await f.audience('entry', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'quiet',
      name: 'Quiet hours',
      entry: { audience: 'entry' },
      quietHours: { start: '21:00', end: '08:00' },
      steps: [{ id: 'hello', type: 'send', destination: email, subject: 'Good morning' }],
    });
    // 10:00 UTC: 05:00 in New York (held until 08:00 there, 13:00 UTC), 11:00 in Paris (sent now).
    const newYork = await f.profile({ traits: { email: 'ny@example.test', timezone: 'America/New_York' } });
    const paris = await f.profile({ traits: { email: 'paris@example.test', timezone: 'Europe/Paris' } });
    await bed.track(f, newYork, 'Signed Up');
    await bed.track(f, paris, 'Signed Up');
    await waitFor(() => bed.smtp.to('paris@example.test').length === 1, { what: 'the Paris email' });
    const held = await bed.waitForRun(journeyId, newYork, (r) => r.step_id === 'hello', 'the New York run');
    expect(held.status).toBe('active');
    const [due] = await bed.sql.rows<{ due_at: Date }>('SELECT due_at FROM journey_runs WHERE id = $1', [held.id]);
    expect(due!.due_at.getTime()).toBe(morning.getTime() + 3 * HOUR);
    await bed.advance(2 * HOUR);
    expect(bed.smtp.to('ny@example.test')).toEqual([]);
    // A change of the held person brings the run back to the step: still held, recorded once.
    await bed.track(f, newYork, 'Page Viewed');
    await waitFor(
      async () =>
        (await bed.sql.count('SELECT count(*) FROM profile_changes WHERE $1 = ANY(profile_ids)', [newYork])) === 0,
      {
        what: 'the change to be evaluated',
      },
    );
    const holds = await bed.sql.rows<{ outcome: string }>('SELECT outcome FROM journey_run_steps WHERE run_id = $1', [
      held.id,
    ]);
    expect(holds.map((h) => h.outcome)).toEqual(['held:quiet']);
    await bed.advance(HOUR);
    await waitFor(() => bed.smtp.to('ny@example.test').length === 1, { what: 'the New York email at 08:00 local' });
  });
});
