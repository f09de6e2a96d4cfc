import { readJourneyDefinition } from './journey-definition';

const entry = { audience: 'signed-up' };
const send = (id: string, next?: string) => ({ id, type: 'send', destination: 'd1', ...(next && { next }) });

function problems(input: Record<string, unknown>): string[] {
  const read = readJourneyDefinition({ entry, ...input } as Parameters<typeof readJourneyDefinition>[0]);
  return read.ok ? [] : read.problems.map((p) => `${p.field}: ${p.reason}`);
}

describe('journey definitions', () => {
  it('reads a valid graph and prints conditions canonically', () => {
    const read = readJourneyDefinition({
      entry,
      reentry: { after: { amount: 30, unit: 'days' } },
      exit: { when: 'performed   "Destination Enabled"', onAudienceExit: true },
      steps: [
        {
          id: 'w',
          type: 'wait_until',
          condition: 'performed "Source Connected"',
          timeout: { amount: 7, unit: 'days' },
          next: 'x',
          timeoutNext: 'b',
        },
        { id: 'b', type: 'branch', condition: 'trait persona = "technical"', then: 's', else: 'x' },
        send('s', 'x'),
        { id: 'x', type: 'exit' },
      ],
    });
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.definition.exit).toEqual({ when: 'performed "Destination Enabled"', onAudienceExit: true });
    expect(read.definition.reentry).toEqual({ after: { amount: 30, unit: 'days' } });
    expect(read.definition.entry.includeCurrentMembers).toBe(false);
  });

  it('names the path of an unknown step', () => {
    expect(problems({ steps: [send('a', 'b'), send('b'), send('c'), send('d', 'nudge-2')] })).toContain(
      'steps[3].next: unknown step "nudge-2"',
    );
  });

  it('refuses unreachable steps', () => {
    expect(problems({ steps: [send('a'), send('b')] })).toEqual([
      'steps[1]: step "b" cannot be reached from the first step',
    ]);
  });

  it('refuses a cycle without a wait, accepts one through a wait', () => {
    expect(
      problems({
        steps: [send('a', 'b'), { id: 'b', type: 'branch', condition: 'trait x = 1', then: 'a', else: 'a' }],
      }),
    ).toEqual(['steps[1]: makes a cycle without a wait: "a" → "b" → "a"']);
    expect(
      problems({
        steps: [send('a', 'w'), { id: 'w', type: 'wait', duration: { amount: 30, unit: 'days' }, next: 'a' }],
      }),
    ).toEqual([]);
  });

  it('names bad conditions, durations, types, splits and unknown fields', () => {
    expect(
      problems({
        steps: [
          {
            id: 'a',
            type: 'wait_until',
            condition: 'performed',
            timeout: { amount: 0, unit: 'fortnights' },
            next: 'b',
          },
          { id: 'b', type: 'split', variants: [{ key: 'x', percent: 50, next: 'c' }], holdout: 10 },
          { id: 'c', type: 'teleport' },
          { id: 'd', type: 'exit', colour: 'red' },
        ],
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^steps\[0\]\.condition: line 1, col/),
        'steps[0].timeout.amount: must be a whole number of at least 1',
        'steps[0].timeout.unit: must be one of minutes, hours, days, weeks',
        'steps[1].variants: percentages and holdout must add up to 100 (they add up to 60)',
        'steps[2].type: must be one of send, wait, wait_until, branch, split, exit',
        'steps[3].colour: is not a known field',
      ]),
    );
  });

  it('checks entry, re-entry, exit and quiet hours', () => {
    const read = readJourneyDefinition({
      entry: {},
      reentry: 'sometimes',
      exit: { when: 3 },
      steps: [],
      quietHours: { start: '25:00', end: '08:00', timezone: 'Mars/Olympus' },
    });
    expect(read.ok ? [] : read.problems.map((p) => p.field)).toEqual([
      'entry.audience',
      'reentry',
      'exit.when',
      'quietHours.start',
      'quietHours.timezone',
      'steps',
    ]);
  });
});

describe('account journey definitions', () => {
  const steps = [{ id: 'hello', type: 'send', destination: 'd1', recipients: 'trait role = "admin"' }];

  it('reads conditions about the account and recipients about people', () => {
    const read = readJourneyDefinition(
      {
        entry,
        exit: { when: 'any member performed "Destination Enabled"' },
        recipients: 'trait role = "owner"',
        steps,
      },
      'account',
    );
    expect(read.ok && read.definition).toMatchObject({
      level: 'account',
      recipients: 'trait role = "owner"',
      steps: [{ recipients: 'trait role = "admin"' }],
    });
  });

  it('refuses a condition about a person at account level, and recipients at profile level', () => {
    const account = readJourneyDefinition({ entry, exit: { when: 'performed "X"' }, steps }, 'account');
    expect(account.ok ? [] : account.problems.map((p) => p.field)).toEqual(['exit.when']);
    const profile = readJourneyDefinition({ entry, recipients: 'trait role = "owner"', steps });
    expect(profile.ok ? [] : profile.problems.map((p) => p.field)).toEqual(['recipients', 'steps[0].recipients']);
  });

  it('keeps a profile journey as it was stored before levels (no level, no recipients)', () => {
    const read = readJourneyDefinition({ entry, steps: [{ id: 'hello', type: 'send', destination: 'd1' }] });
    expect(read.ok && Object.keys(read.definition).sort()).toEqual(['entry', 'exit', 'quietHours', 'reentry', 'steps']);
  });
});
