import fc from 'fast-check';

import { DEFAULT_IDENTITY_SETTINGS } from '../identity/identity-settings';
import {
  DEFAULT_WORKSPACE_SETTINGS,
  patchWorkspaceSettings,
  readWorkspaceSettings,
  workspaceSettingsJsonSchema,
} from './workspace-settings';

function patched(stored: unknown, patch: unknown) {
  const result = patchWorkspaceSettings(stored, patch);
  if (!result.ok) throw new Error(`expected the patch to apply: ${JSON.stringify(result.problems)}`);
  return result.stored;
}

function problemsOf(stored: unknown, patch: unknown) {
  const result = patchWorkspaceSettings(stored, patch);
  if (result.ok) throw new Error('expected the patch to be refused');
  return result.problems;
}

describe('reading stored workspace settings', () => {
  it('fills every default when nothing is stored', () => {
    expect(readWorkspaceSettings({})).toEqual({ settings: DEFAULT_WORKSPACE_SETTINGS, problems: [] });
    expect(readWorkspaceSettings(null).settings).toEqual(DEFAULT_WORKSPACE_SETTINGS);
    expect(DEFAULT_WORKSPACE_SETTINGS.identity).toEqual({
      extraIdentifiers: [],
      blockedValues: ['null', 'undefined', 'anonymous', '0', '-1', ''],
      limits: { user_id: 1 },
      maxMergesPerProfile: 100,
    });
  });

  it('uses what fits, normalised, and reports by name what does not, using its default', () => {
    const { settings, problems } = readWorkspaceSettings({
      identity: {
        extraIdentifiers: [{ type: ' Phone ', trait: 'phone' }],
        blockedValues: [' N/A '],
        limits: { user_id: -1 },
        maxMergesPerProfile: 'x',
        colour: 'blue',
      },
      tracking: { rateLimitPerSecond: 20_000 },
      journeys: {},
    });
    expect(settings.identity).toEqual({
      ...DEFAULT_IDENTITY_SETTINGS,
      extraIdentifiers: [{ type: 'phone', trait: 'phone' }],
      blockedValues: ['n/a'],
    });
    expect(settings.tracking).toEqual({ rateLimitPerSecond: 20_000, bytesPerSecond: 10_000_000 });
    expect(problems).toEqual([
      { field: 'journeys', reason: 'is not a section of the settings (known: identity, tracking, messaging)' },
      { field: 'identity.limits.user_id', reason: 'must be at least 1' },
      { field: 'identity.maxMergesPerProfile', reason: 'must be a whole number' },
      {
        field: 'identity.colour',
        reason: 'is not a setting (known: extraIdentifiers, blockedValues, limits, maxMergesPerProfile)',
      },
    ]);
  });

  it('names the item and field of a bad list entry', () => {
    const { problems } = readWorkspaceSettings({
      identity: {
        extraIdentifiers: [
          { type: 'phone', trait: 'phone' },
          { type: 'Email', trait: '' },
        ],
      },
    });
    expect(problems).toEqual([
      {
        field: 'identity.extraIdentifiers[1].type',
        reason: 'must not be a built-in type (user_id, anonymous_id, email)',
      },
      { field: 'identity.extraIdentifiers[1].trait', reason: 'must not be empty' },
    ]);
  });

  it('reports a section that is not an object', () => {
    expect(readWorkspaceSettings({ tracking: 5 }).problems).toEqual([
      { field: 'tracking', reason: 'must be an object' },
    ]);
  });
});

describe('patching workspace settings', () => {
  it('merges sections and settings; lists and maps replace the stored value as a whole', () => {
    const stored = patched({}, { identity: { limits: { email: 3 }, maxMergesPerProfile: 5 } });
    expect(stored).toEqual({ identity: { limits: { email: 3 }, maxMergesPerProfile: 5 } });
    const next = patched(stored, { identity: { limits: { user_id: 2 } }, tracking: { rateLimitPerSecond: 10 } });
    expect(next).toEqual({
      identity: { limits: { user_id: 2 }, maxMergesPerProfile: 5 },
      tracking: { rateLimitPerSecond: 10 },
    });
  });

  it('resets a setting or a whole section to its default with null', () => {
    const stored = { identity: { limits: { email: 3 }, maxMergesPerProfile: 5 }, tracking: { rateLimitPerSecond: 10 } };
    expect(patched(stored, { identity: { limits: null }, tracking: null })).toEqual({
      identity: { maxMergesPerProfile: 5 },
    });
    expect(patched(stored, { identity: { limits: null, maxMergesPerProfile: null } })).toEqual({
      tracking: { rateLimitPerSecond: 10 },
    });
  });

  it('refuses the whole patch naming every bad field', () => {
    expect(
      problemsOf(
        {},
        {
          identity: { limits: { user_id: 0, 'Bad Key': 1 }, blockedValues: 'none' },
          tracking: { rateLimitPerSecond: 1.5, burst: 3 },
          nope: {},
        },
      ),
    ).toEqual([
      { field: 'identity.limits.user_id', reason: 'must be at least 1' },
      {
        field: 'identity.limits.Bad Key',
        reason:
          'is not a valid key: must be a name of lower-case letters, digits and _ that starts with a letter (at most 40)',
      },
      { field: 'identity.blockedValues', reason: 'must be an array' },
      { field: 'tracking.rateLimitPerSecond', reason: 'must be a whole number' },
      { field: 'tracking.burst', reason: 'is not a setting (known: rateLimitPerSecond, bytesPerSecond)' },
      { field: 'nope', reason: 'is not a section of the settings (known: identity, tracking, messaging)' },
    ]);
    expect(problemsOf({}, [])).toEqual([{ field: 'body', reason: 'must be a JSON object' }]);
    expect(problemsOf({}, { identity: 'x' })).toEqual([{ field: 'identity', reason: 'must be an object or null' }]);
    expect(
      problemsOf(
        {},
        {
          identity: {
            extraIdentifiers: [
              { type: 'x', trait: 'a' },
              { type: 'X', trait: 'b' },
            ],
          },
        },
      ),
    ).toEqual([{ field: 'identity.extraIdentifiers', reason: 'must not name a type twice' }]);
  });

  it('keeps stored values it does not touch, also those that no longer fit (they stay reported)', () => {
    const stored = patched({ identity: { maxMergesPerProfile: 'x' } }, { tracking: { rateLimitPerSecond: 7 } });
    expect(stored).toEqual({ identity: { maxMergesPerProfile: 'x' }, tracking: { rateLimitPerSecond: 7 } });
    expect(readWorkspaceSettings(stored).problems).toEqual([
      { field: 'identity.maxMergesPerProfile', reason: 'must be a whole number' },
    ]);
  });

  it('reads back every valid patch as the defaults overridden by the patch', () => {
    const identity = fc.record(
      {
        limits: fc.dictionary(fc.constantFrom('user_id', 'email', 'phone'), fc.integer({ min: 1, max: 1_000 })),
        maxMergesPerProfile: fc.integer({ min: 0, max: 1_000_000 }),
        blockedValues: fc.array(fc.constantFrom('null', 'n/a', 'test', ''), { maxLength: 4 }),
      },
      { requiredKeys: [] },
    );
    const tracking = fc.record(
      {
        rateLimitPerSecond: fc.integer({ min: 1, max: 1_000_000_000 }),
        bytesPerSecond: fc.integer({ min: 1, max: 1_000_000_000_000 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.record({ identity, tracking }, { requiredKeys: [] }), (generated) => {
        // fast-check builds records without a prototype; JSON is what the API receives anyway.
        const patch = JSON.parse(JSON.stringify(generated)) as {
          identity?: Record<string, unknown>;
          tracking?: Record<string, unknown>;
        };
        const { settings, problems } = readWorkspaceSettings(patched({}, patch));
        expect(problems).toEqual([]);
        expect(settings).toEqual({
          identity: { ...DEFAULT_WORKSPACE_SETTINGS.identity, ...patch.identity },
          tracking: { ...DEFAULT_WORKSPACE_SETTINGS.tracking, ...patch.tracking },
          messaging: DEFAULT_WORKSPACE_SETTINGS.messaging,
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('the settings schema as JSON Schema', () => {
  it('documents every section and setting for OpenAPI', () => {
    const effective = workspaceSettingsJsonSchema('effective') as {
      properties: Record<string, { properties: Record<string, unknown> }>;
    };
    expect(Object.keys(effective.properties)).toEqual(['identity', 'tracking', 'messaging']);
    expect(effective.properties.tracking?.properties.rateLimitPerSecond).toMatchObject({
      type: 'integer',
      minimum: 1,
      description: expect.any(String),
    });
    const patch = workspaceSettingsJsonSchema('patch') as { properties: Record<string, unknown>; required?: unknown };
    expect(patch.required).toBeUndefined();
    expect(patch.properties.identity).toMatchObject({ nullable: true });
  });
});
