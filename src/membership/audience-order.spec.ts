import { parseAudience } from '../audiences/language/audience-parser';
import { dependencyOrder, directDependents, storedDefinition } from './audience-order';
import { AudienceDefinitionError } from './membership.errors';

function audience(key: string, definition: string) {
  return { id: `id-${key}`, key, definitionAst: parseAudience(definition) as unknown };
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

describe('storedDefinition', () => {
  it('rejects a stored AST that no longer validates, naming the problem', () => {
    expect(() => storedDefinition({ id: 'a1', definitionAst: { type: 'nonsense' } })).toThrow(AudienceDefinitionError);
  });
});
