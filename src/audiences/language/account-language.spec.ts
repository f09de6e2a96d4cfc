import { AudienceParseError, parseAudience } from './audience-parser';
import { printAudience } from './audience-printer';
import { validateAudienceAst } from './audience-validator';

function parseError(text: string, level: 'profile' | 'account'): AudienceParseError {
  try {
    parseAudience(text, level);
  } catch (error) {
    if (error instanceof AudienceParseError) return error;
    throw error;
  }
  throw new Error(`expected ${text} not to parse at ${level} level`);
}

describe('account conditions in the audience language', () => {
  it.each([
    'trait plan = "Business"',
    'any member performed "Source Connected"',
    'any member performed "Source Connected" within 7 days',
    'no member performed "Login" within 14 days',
    'no member active within 14 days',
    'any member active within 3 days',
    'all members trait role = "owner"',
    'all members (trait role = "owner" or active within 3 days)',
    'members at least 2',
    'members at most 1',
    'members exactly 0',
    'created within 7 days',
    'created before 30 days ago',
    'created between 2026-01-01 and 2026-02-01',
    'created within 7 days and members at most 1',
    'trait plan = "Business" and not (in audience "red-accounts" or members at least 10)',
    'any member not in audience "trial-users"',
  ])('parses and prints back `%s` at account level', (text) => {
    const ast = parseAudience(text, 'account');
    expect(printAudience(ast)).toBe(text);
    expect(parseAudience(printAudience(ast), 'account')).toEqual(ast);
    expect(validateAudienceAst(JSON.parse(JSON.stringify(ast)), 'definition', 'account')).toEqual({ ok: true, ast });
  });

  it('reads the AST of a member condition as a profile condition', () => {
    expect(parseAudience('no member performed "Login" within 14 days', 'account')).toEqual({
      type: 'members',
      quantifier: 'no',
      condition: {
        type: 'performed',
        event: 'Login',
        window: { kind: 'within', duration: { amount: 14, unit: 'days' } },
      },
    });
    expect(parseAudience('members at least 2', 'account')).toEqual({ type: 'member_count', op: 'at_least', value: 2 });
    expect(parseAudience('ANY Members trait a = 1', 'account')).toMatchObject({ type: 'members', quantifier: 'any' });
  });

  it('refuses profile conditions at account level with their line and column', () => {
    const error = parseError('trait plan = "Pro" and\n  active within 14 days', 'account');
    expect([error.line, error.column]).toEqual([2, 3]);
    expect(error.reason).toMatch(/`active within` is a condition on a person, not on an account.*any member/);
    expect(parseError('performed "A" then performed "B"', 'account').column).toBe(1);
    expect(parseError('not inactive 3 days', 'account').column).toBe(5);
  });

  it('refuses account conditions at profile level, also inside a member condition', () => {
    const error = parseError('trait a = 1 or members at least 2', 'profile');
    expect([error.line, error.column]).toEqual([1, 16]);
    expect(error.reason).toMatch(/condition on an account.*"level": "account"/);
    expect(parseError('created within 7 days', 'profile').column).toBe(1);
    expect(parseError('any member any member trait a = 1', 'account').column).toBe(12);
    expect(parseError('any member created within 7 days', 'account').column).toBe(12);
  });

  it('validates JSON by level and names the field', () => {
    const profileInAccount = validateAudienceAst(
      {
        type: 'and',
        conditions: [
          { type: 'trait', path: ['plan'], op: 'exists' },
          { type: 'inactive', duration: { amount: 3, unit: 'days' } },
        ],
      },
      'definition',
      'account',
    );
    expect(profileInAccount).toEqual({
      ok: false,
      errors: [{ path: 'definition.conditions[1].type', message: expect.stringMatching(/condition on a person/) }],
    });
    const accountInProfile = validateAudienceAst({ type: 'member_count', op: 'at_least', value: 1 });
    expect(accountInProfile).toMatchObject({ ok: false, errors: [{ path: 'definition.type' }] });
    const badQuantifier = validateAudienceAst(
      { type: 'members', quantifier: 'most', condition: { type: 'trait', path: ['a'], op: 'exists' } },
      'definition',
      'account',
    );
    expect(badQuantifier).toMatchObject({ ok: false, errors: [{ path: 'definition.quantifier' }] });
    const nested = validateAudienceAst(
      {
        type: 'members',
        quantifier: 'all',
        condition: { type: 'created', window: { kind: 'within', duration: { amount: 1, unit: 'days' } } },
      },
      'definition',
      'account',
    );
    expect(nested).toMatchObject({ ok: false, errors: [{ path: 'definition.condition.type' }] });
  });
});
