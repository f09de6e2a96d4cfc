import { waitFor } from '../support/wait-for';
import { createJourney, DAY, EMAIL, JourneyBed, ReportBody, RunsBody } from './journey-support';

/** The 95% Wilson interval, written out again here to check the report by hand. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.round((centre - half) * 1e4) / 1e4, Math.round((centre + half) * 1e4) / 1e4];
}

/**
 * The seeds' experiment with the nudge window: 3 days vs 7 days vs a 10% holdout that gets
 * nothing, with the goal "Source Connected". The report's numbers are recomputed here from the
 * people in each group and the conversions the test made.
 */
describe('journeys: experiment with a holdout', () => {
  let bed: JourneyBed;

  beforeAll(async () => {
    bed = await JourneyBed.start();
  });

  afterAll(() => bed.close());

  it('reports runs, conversions, intervals, uplift and time to goal per variant', async () => {
    const { ws, f, api } = await bed.workspace();
    await f.audience('signed-up', 'performed "Signed Up"');
    const email = await api.createEmail(EMAIL);
    const journeyId = await createJourney(bed.app, ws.apiToken, {
      key: 'nudge-window',
      name: 'Nudge window experiment',
      entry: { audience: 'signed-up' },
      exit: { when: 'performed "Source Connected"' },
      steps: [
        {
          id: 'split',
          type: 'split',
          variants: [
            { key: 'three-days', percent: 45, next: 'wait-3' },
            { key: 'seven-days', percent: 45, next: 'wait-7' },
          ],
          holdout: 10,
        },
        { id: 'wait-3', type: 'wait', duration: { amount: 3, unit: 'days' }, next: 'nudge' },
        { id: 'wait-7', type: 'wait', duration: { amount: 7, unit: 'days' }, next: 'nudge' },
        { id: 'nudge', type: 'send', destination: email, subject: 'Connect your first source', next: 'measure' },
        // Runs stay in the experiment after the nudge, so that later conversions count.
        { id: 'measure', type: 'wait', duration: { amount: 14, unit: 'days' } },
      ],
    });
    const people: string[] = [];
    for (let i = 0; i < 60; i++) people.push(await f.profile({ traits: { email: `p${i}@example.test` } }));
    for (const id of people) await f.event(id, 'Signed Up', bed.clock.now());
    await f.changed(...people);
    await waitFor(async () => (await bed.runs(journeyId)).filter((r) => r.variant !== null).length === 60, {
      what: 'every run to get its variant',
    });
    const runs = await bed.runs(journeyId);
    const group = (variant: string) => runs.filter((r) => r.variant === variant).map((r) => r.profile_id);
    const three = group('three-days');
    const seven = group('seven-days');
    const holdout = group('holdout');
    expect(three.length + seven.length + holdout.length).toBe(60);
    // Deterministic: the same person in the same journey always lands in the same group.
    expect(
      runs.every(
        (r) => r.step_id === (r.variant === 'holdout' ? 'split' : r.variant === 'three-days' ? 'wait-3' : 'wait-7'),
      ),
    ).toBe(true);

    const convert = async (ids: string[]) => {
      for (const id of ids) await f.event(id, 'Source Connected', bed.clock.now());
      await f.changed(...ids);
      for (const id of ids) await bed.waitForRun(journeyId, id, (r) => r.status === 'converted', 'a conversion');
    };
    // Day 1: two of the 3-day group, one of the 7-day group and one of the holdout convert.
    bed.clock.advance(DAY);
    await convert([...three.slice(0, 2), ...seven.slice(0, 1), ...holdout.slice(0, 1)]);
    // Day 3: the 3-day nudge; day 4: three more of the 3-day group convert.
    await bed.advance(2 * DAY + 60_000);
    bed.clock.advance(DAY - 60_000);
    await convert(three.slice(2, 5));
    // Day 7: the 7-day nudge.
    await bed.advance(3 * DAY + 60_000);
    await waitFor(
      async () =>
        ((await api.get(`/api/journeys/${journeyId}/report`)).body as ReportBody).steps.find(
          (s) => s.stepId === 'nudge',
        )?.sent ===
        three.length - 2 + seven.length - 1,
      {
        what: 'every nudge to be sent',
      },
    );

    const report = (await api.get(`/api/journeys/${journeyId}/report`).expect(200)).body as ReportBody;
    const expected = [
      {
        variant: 'holdout',
        n: holdout.length,
        k: Math.min(1, holdout.length),
        median: holdout.length > 0 ? DAY / 1000 : null,
      },
      { variant: 'seven-days', n: seven.length, k: 1, median: DAY / 1000 },
      { variant: 'three-days', n: three.length, k: 5, median: (4 * DAY) / 1000 },
    ].filter((v) => v.n > 0);
    const holdoutRate = holdout.length > 0 ? Math.min(1, holdout.length) / holdout.length : null;
    expect(report.variants).toEqual(
      expected.map((v) => ({
        variant: v.variant,
        runs: v.n,
        conversions: v.k,
        conversionRate: Math.round((v.k / v.n) * 1e4) / 1e4,
        confidenceInterval: wilson(v.k, v.n),
        upliftOverHoldout:
          holdoutRate === null || v.variant === 'holdout' ? null : Math.round((v.k / v.n - holdoutRate) * 1e4) / 1e4,
        medianSecondsToGoal: v.median,
      })),
    );
    const steps = Object.fromEntries(report.steps.map((s) => [s.stepId, s]));
    expect(steps.split).toMatchObject({ entered: 60, waiting: holdout.length - Math.min(1, holdout.length) });
    expect(steps['wait-3']).toMatchObject({ entered: three.length, passed: three.length - 2, waiting: 0 });
    expect(steps['wait-7']).toMatchObject({ entered: seven.length, passed: seven.length - 1, waiting: 0 });
    expect(steps.nudge).toMatchObject({ sent: three.length - 2 + seven.length - 1, failed: 0 });
    expect(report.converted).toBe(5 + 1 + Math.min(1, holdout.length));
    for (const id of holdout) expect(bed.smtp.to(`p${people.indexOf(id)}@example.test`)).toEqual([]);

    const path = await api.get(`/api/journeys/${journeyId}/runs?profileId=${three[0]}`).expect(200);
    const items = (path.body as RunsBody).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'converted', variant: 'three-days' });
    expect(items[0]!.history.map((h) => h.outcome)).toEqual(['variant:three-days', 'converted']);
  });
});
