/**
 * Stored worker settings are checked as the app's options are: a misspelt key is refused naming the closest
 * known one (it used to be refused as zod's "Unrecognized key"), a bad value naming its field.
 */
import { describe, expect, it } from 'vitest';
import { parseSettings, SettingsInvalidError } from '../../src';

function refusal(input: unknown): string {
  try {
    parseSettings(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsInvalidError);
    return (err as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

describe('parseSettings', () => {
  it('keeps what it knows', () => {
    expect(parseSettings({ concurrency: 4, taskLimits: { 'a.b': { rateLimit: '1/s' } } })).toEqual({
      concurrency: 4,
      taskLimits: { 'a.b': { rateLimit: '1/s' } },
    });
  });

  it.each<[unknown, string]>([
    [{ concurency: 4 }, 'unknown setting concurency (did you mean concurrency?)'],
    [{ prefetch_multiplier: 2 }, 'unknown setting prefetch_multiplier (did you mean prefetchMultiplier?)'],
    [
      { taskLimits: { 'a.b': { ratelimit: '1/s' } } },
      'unknown setting taskLimits.a.b.ratelimit (did you mean taskLimits.a.b.rateLimit?)',
    ],
    [{ zqxv: 1 }, 'unknown setting zqxv'],
    [{ concurrency: 0 }, 'concurrency: must be at least 1'],
  ])('refuses %o: %s', (input, message) => {
    expect(refusal(input)).toBe(message);
  });
});
