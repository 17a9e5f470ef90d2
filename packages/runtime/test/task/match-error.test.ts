import { describe, expect, it } from 'vitest';
import { matchesError } from '../../src/task/task';

describe('matchesError (autoretryFor)', () => {
  class Flaky extends Error {}
  class Named extends Error {
    override name = 'NamedError';
  }

  it('matches by class, subclasses included', () => {
    class VeryFlaky extends Flaky {}
    expect(matchesError(new VeryFlaky('x'), [Flaky])).toBe(true);
    expect(matchesError(new Error('x'), [Flaky])).toBe(false);
  });

  it('matches by name, or by class name when the class left name as Error', () => {
    expect(matchesError(new Named('x'), ['NamedError'])).toBe(true);
    expect(matchesError(new Flaky('x'), ['Flaky'])).toBe(true);
    expect(matchesError(new TypeError('x'), ['Flaky'])).toBe(false);
    expect(matchesError('not an error', ['Flaky'])).toBe(false);
  });
});
