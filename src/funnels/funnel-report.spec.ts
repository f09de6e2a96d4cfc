import { percentileCont } from '../../test/oracles/funnel-reference';
import { dropOffDefinition } from './funnel-drop-off';
import { biggestDropOffs, stepViews } from './funnel-report';
import { parseStepFilters, readSteps } from './funnel-request';
import { FunnelGroupRow } from './funnel-spec';
import { FunnelRequestError } from './funnels.errors';

const steps = readSteps([{ event: 'A' }, { event: 'B' }, { event: 'C' }, { event: 'D' }]);
const row = (counts: number[]): FunnelGroupRow => ({
  kind: 'total',
  value: null,
  counts,
  medians: counts.map(() => null),
  p90s: counts.map(() => null),
});

describe('funnel report', () => {
  it('computes conversions and drop-offs, null where nobody reached the previous step', () => {
    const views = stepViews(steps, row([10, 5, 0, 0]));
    expect(views.map((v) => [v.count, v.conversionFromPrevious, v.conversionFromFirst, v.dropOff])).toEqual([
      [10, 1, 1, 0],
      [5, 0.5, 0.5, 5],
      [0, 0, 0, 5],
      [0, null, 0, 0],
    ]);
  });

  it('flags every step tied for the lowest conversion, and none when all convert', () => {
    const tied = stepViews(steps, row([8, 4, 2, 1]));
    expect(biggestDropOffs(tied).map((d) => [d.step, d.reason])).toEqual([
      [2, 'lowest_conversion'],
      [3, 'lowest_conversion'],
      [4, 'lowest_conversion'],
    ]);
    expect(biggestDropOffs(stepViews(steps, row([3, 3, 3, 3])))).toEqual([]);
  });

  it('flags no fall when conversion only rose versus the previous period', () => {
    const current = stepViews(steps, row([10, 9, 8, 7]));
    const previous = stepViews(steps, row([10, 5, 4, 3]));
    current.forEach((s, k) => {
      s.change = {
        count: 0,
        countRatio: 0,
        conversionFromPrevious: (s.conversionFromPrevious ?? 0) - (previous[k]?.conversionFromPrevious ?? 0),
        conversionFromFirst: 0,
      };
    });
    expect(biggestDropOffs(current, previous).map((d) => d.reason)).toEqual(['lowest_conversion']);
  });
});

describe('percentileCont', () => {
  it('interpolates like Postgres', () => {
    expect(percentileCont([300, 300, 600, 600, 1800, 3600, 3600, 172800], 0.5)).toBe(1200);
    expect(percentileCont([300, 600, 1200], 0.9)).toBe(1080);
    expect(percentileCont([42], 0.9)).toBe(42);
    expect(percentileCont([], 0.5)).toBeNull();
  });
});

describe('step filters', () => {
  it('reads one filter, several in parentheses, and several without', () => {
    expect(parseStepFilters('total > 100', 'f')).toEqual([{ path: ['total'], op: 'gt', value: 100 }]);
    expect(parseStepFilters('plan = "Pro" and total > 100', 'f')).toEqual(
      parseStepFilters('(plan = "Pro" and total > 100)', 'f'),
    );
  });

  it('reports positions within the filter text and refuses conditions', () => {
    expect(() => parseStepFilters('plan = ', 'steps[1].where')).toThrow(
      'steps[1].where: line 1, col 8: expected a value: a "string", a number, true, false or a date',
    );
    expect(() => parseStepFilters('plan = "Pro") or (active within 3 days', 'w')).toThrow(FunnelRequestError);
  });

  it('reports lines and columns of a filter over several lines, and what may end it', () => {
    expect(() => parseStepFilters('plan = "Pro"\n  and total >', 'steps[0].where')).toThrow(
      'steps[0].where: line 2, col 14: expected a "string", a number or a date',
    );
    expect(() => parseStepFilters('(plan = "Pro"\nand total > 100', 'w')).toThrow('w: line 2, col 16: expected ")"');
    expect(() => parseStepFilters('total > 100 total', 'w')).toThrow(
      'w: line 1, col 13: expected "and" or the end of the filter',
    );
    expect(() => parseStepFilters('a = 1 or b = 2', 'w')).toThrow(
      'w: line 1, col 7: expected "and" or the end of the filter',
    );
  });
});

describe('drop-off definitions', () => {
  it('prints the earlier steps, a negated next step and the window', () => {
    const filtered = readSteps([{ event: 'Checkout Started' }, { event: 'Order Completed', where: 'total > 100' }]);
    expect(dropOffDefinition(filtered, 14, 1)).toBe(
      'performed "Checkout Started" then not performed "Order Completed" where total > 100 within 14 days',
    );
    expect(() => dropOffDefinition(filtered, 14, 2)).toThrow('dropOffAfterStep: must be between 1 and 1');
  });
});
