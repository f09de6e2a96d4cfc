import {
  bandOf,
  keyProblems,
  periodStart,
  readScoreDefinition,
  readsScore,
  scoreOf,
  topLevelComputedKeys,
} from './score-definition';

const BANDS = [
  { name: 'red', min: 0 },
  { name: 'green', min: 70 },
  { name: 'yellow', min: 40 },
];

describe('score definitions', () => {
  it('reads components and bands into canonical form, bands highest first', () => {
    const read = readScoreDefinition(
      {
        components: [
          { name: 'Source', condition: 'any member performed   "Source Connected"', points: 40 },
          { name: 'Team', condition: { type: 'member_count', op: 'at_least', value: 2 }, points: 60 },
        ],
        bands: BANDS,
      },
      'account',
    );
    if (!read.ok) throw new Error(JSON.stringify(read.problems));
    expect(read.value.components.map((c) => [c.name, c.condition, c.points])).toEqual([
      ['Source', 'any member performed "Source Connected"', 40],
      ['Team', 'members at least 2', 60],
    ]);
    expect(read.value.bands.map((b) => b.name)).toEqual(['green', 'yellow', 'red']);
  });

  it('names every problem by its field, conditions with line and column at the score level', () => {
    const read = readScoreDefinition(
      {
        components: [
          { name: '', condition: 'performed "Login"', points: 1.5 },
          { name: 'x', condition: 'members at least 2', points: 10 },
          'nope',
        ],
        bands: [
          { name: 'green', min: 70 },
          { name: 'low', min: -1 },
        ],
      },
      'profile',
    );
    expect(read.ok ? [] : read.problems.map((p) => p.field)).toEqual([
      'components[0].name',
      'components[0].points',
      'components[1].condition',
      'components[2]',
      'bands[1].min',
    ]);
    const uncovered = readScoreDefinition(
      { components: [{ name: 'a', condition: 'active within 7 days', points: 1 }], bands: [{ name: 'g', min: 1 }] },
      'profile',
    );
    expect(uncovered.ok ? [] : uncovered.problems).toEqual([
      { field: 'bands', reason: expect.stringContaining('must cover 0') as string },
    ]);
  });

  it('sums the points of the components that hold and finds the band', () => {
    const read = readScoreDefinition(
      {
        components: [
          { name: 'a', condition: 'active within 7 days', points: 40 },
          { name: 'b', condition: 'performed "Login"', points: 30 },
        ],
        bands: BANDS,
      },
      'profile',
    );
    if (!read.ok) throw new Error('invalid');
    expect(scoreOf(read.value, [true, true])).toBe(70);
    expect(scoreOf(read.value, [false, true])).toBe(30);
    expect(bandOf(BANDS, 70)).toBe('green');
    expect(bandOf(BANDS, 69)).toBe('yellow');
    expect(bandOf(BANDS, 0)).toBe('red');
  });

  it('starts periods at UTC midnight, Monday and the first of the month', () => {
    const sunday = new Date('2026-09-13T23:59:59.999Z');
    expect(periodStart(sunday, 'daily').toISOString()).toBe('2026-09-13T00:00:00.000Z');
    expect(periodStart(sunday, 'weekly').toISOString()).toBe('2026-09-07T00:00:00.000Z');
    expect(periodStart(new Date('2026-09-14T00:00:00.000Z'), 'weekly').toISOString()).toBe('2026-09-14T00:00:00.000Z');
    expect(periodStart(sunday, 'monthly').toISOString()).toBe('2026-09-01T00:00:00.000Z');
  });

  it('keeps the keys a score derives apart from score keys', () => {
    expect(keyProblems('adoption')).toEqual([]);
    expect(keyProblems('adoption_band')).toHaveLength(1);
    expect(keyProblems('adoption_change_14d')).toHaveLength(1);
    expect(
      ['adoption', 'adoption_band', 'adoption_change_14d', 'adoption_changed', 'other'].map((k) =>
        readsScore(k, 'adoption'),
      ),
    ).toEqual([true, true, true, false, false]);
  });

  it('finds computed keys read about an account itself, not inside member conditions', () => {
    const read = readScoreDefinition(
      {
        components: [{ name: 'a', condition: 'computed x > 1 and any member computed y > 1', points: 1 }],
        bands: [{ name: 'all', min: 0 }],
      },
      'account',
    );
    if (!read.ok) throw new Error(JSON.stringify(read.problems));
    expect(topLevelComputedKeys(read.value.components[0]!.conditionAst)).toEqual(['x']);
  });
});
