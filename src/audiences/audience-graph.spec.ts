import { randomUUID } from 'node:crypto';

import {
  audienceGraph,
  dependencyLevels,
  dependencyOrder,
  directDependents,
  findCycle,
  referrersOf,
} from './audience-graph';
import { storedDefinition } from './audience-predicate';
import { AudienceDefinitionError } from './audiences.errors';
import { parseAudience } from './language/audience-parser';

function audience(key: string, definition: string) {
  return { id: randomUUID(), version: 1, key, definitionAst: parseAudience(definition) as unknown };
}

describe('dependencyOrder', () => {
  it('puts every audience after the audiences it references, ties by key', () => {
    const audiences = [
      audience('c', 'in audience "b" and in audience "a"'),
      audience('b', 'in audience "a"'),
      audience('a', 'trait plan = "Pro"'),
      audience('0-independent', 'active within 7 days'),
    ];
    expect(dependencyOrder(audiences).map((a) => a.key)).toEqual(['0-independent', 'a', 'b', 'c']);
    expect(dependencyOrder([...audiences].reverse()).map((a) => a.key)).toEqual(['0-independent', 'a', 'b', 'c']);
  });

  it('ignores unknown keys and terminates on a cycle the API should have refused', () => {
    const audiences = [audience('x', 'in audience "y" or in audience "ghost"'), audience('y', 'in audience "x"')];
    expect(
      dependencyOrder(audiences)
        .map((a) => a.key)
        .sort(),
    ).toEqual(['x', 'y']);
  });
});

describe('dependencyLevels', () => {
  it('puts every audience one level above the deepest audience it references', () => {
    const audiences = [
      audience('d', 'in audience "a" or in audience "ghost"'),
      audience('c', 'in audience "b" and in audience "a"'),
      audience('b', 'in audience "a"'),
      audience('a', 'trait plan = "Pro"'),
      audience('0-independent', 'active within 7 days'),
    ];
    expect(dependencyLevels(audiences).map((level) => level.map((a) => a.key))).toEqual([
      ['0-independent', 'a'],
      ['b', 'd'],
      ['c'],
    ]);
  });

  it('terminates on a cycle the API should have refused, every audience in some level', () => {
    const audiences = [audience('x', 'in audience "y"'), audience('y', 'in audience "x"')];
    expect(
      dependencyLevels(audiences)
        .flat()
        .map((a) => a.key)
        .sort(),
    ).toEqual(['x', 'y']);
  });
});

describe('directDependents', () => {
  it('lists the audiences that reference a key', () => {
    const audiences = [
      audience('a', 'trait plan = "Pro"'),
      audience('b', 'not in audience "a"'),
      audience('c', 'in audience "b"'),
    ];
    expect(directDependents(audiences, 'a').map((a) => a.key)).toEqual(['b']);
  });
});

describe('audienceGraph', () => {
  it('is what both the API checks and the engine order read', () => {
    const audiences = [
      audience('a', 'trait plan = "Pro"'),
      audience('b', 'in audience "a"'),
      { id: randomUUID(), version: 3, key: 'broken', definitionAst: { type: 'nonsense' } },
    ];
    const graph = audienceGraph(audiences);
    expect([...graph]).toEqual([
      ['a', []],
      ['b', ['a']],
      ['broken', []],
    ]);
    expect(referrersOf(graph, 'a')).toEqual(['b']);
    expect(findCycle(graph, 'a', ['b'])).toEqual(['a', 'b', 'a']);
  });
});

describe('storedDefinition', () => {
  it('rejects a stored AST that no longer validates, naming the problem', () => {
    const broken = { id: randomUUID(), version: 1, definitionAst: { type: 'nonsense' } };
    expect(() => storedDefinition(broken)).toThrow(AudienceDefinitionError);
    expect(() => storedDefinition(broken)).toThrow(/no longer validates: definition\.type: must be one of/);
  });

  it('validates a version once and keeps it, so a version is read the same way every time', () => {
    const saved = audience('a', 'trait plan = "Pro"');
    const first = storedDefinition(saved);
    expect(storedDefinition({ ...saved, definitionAst: { type: 'nonsense' } })).toBe(first);
    expect(() => storedDefinition({ ...saved, version: 2, definitionAst: { type: 'nonsense' } })).toThrow(
      AudienceDefinitionError,
    );
  });
});
