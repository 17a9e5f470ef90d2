/**
 * Masking URL passwords in text: the same matches as the pattern it replaced, and bounded work whatever a
 * message holds (the old pattern spent minutes on a megabyte of letters, freezing the console).
 */
import { describe, expect, it } from 'vitest';
import { cutAndMask, maskSecretsInText } from '../src/server/presenters/mask';

/** The pattern the console used before: right answers, quadratic time. The reference for small inputs. */
const OLD = /([a-z][a-z0-9+.-]*:\/\/[^:/\s@'"]*:)[^@\s'"/]+@/gi;

/** A small deterministic generator, so a failure names an input that can be replayed. */
function* randomTexts(count: number): Generator<string> {
  const alphabet = ['a', 'Z', '1', '+', '.', '-', ':', '/', '@', ' ', "'", '"', '_', '\n'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < count; n++) {
    let s = '';
    const len = next() % 40;
    for (let i = 0; i < len; i++) {
      s += next() % 5 === 0 ? ['redis://', 'amqp://u:', ':pw@', '://'][next() % 4] : alphabet[next() % 14];
    }
    yield s;
  }
}

describe('maskSecretsInText', () => {
  it('masks the password of every URL in text and leaves the rest', () => {
    expect(maskSecretsInText("Redis('redis://:hunter2@db:6379/0')")).toBe("Redis('redis://:****@db:6379/0')");
    expect(maskSecretsInText('a amqp://guest:guest@mq/ and postgresql://me:s3cr%40t@pg/x b')).toBe(
      'a amqp://guest:****@mq/ and postgresql://me:****@pg/x b',
    );
    expect(maskSecretsInText('1://u:p@h, ://u:p@h, http://host:80/@x')).toBe(
      '1://u:p@h, ://u:p@h, http://host:80/@x',
    );
    expect(maskSecretsInText(null)).toBeNull();
  });

  it('matches what the old pattern matched, on thousands of generated texts', () => {
    for (const text of randomTexts(20_000)) {
      expect(maskSecretsInText(text), JSON.stringify(text)).toBe(text.replace(OLD, '$1****@'));
    }
  });

  it('masks 4 MB of the shapes that made the old pattern backtrack, each in one pass', () => {
    const mb4 = 4 << 20;
    const letters = 'x'.repeat(mb4);
    expect(maskSecretsInText(letters)).toBe(letters);
    const schemes = 'a1'.repeat(mb4 / 2) + '://user';
    expect(maskSecretsInText(schemes)).toBe(schemes);
    const urls = 'redis://u:'.repeat(mb4 / 10);
    expect(maskSecretsInText(urls)).toBe(urls);
    const secret = `${'y'.repeat(mb4)}redis://:hunter2@host`;
    expect(maskSecretsInText(secret).endsWith('redis://:****@host')).toBe(true);
  });
});

describe('maskSecretsInText on dicts written out', () => {
  it("masks the values of secret-looking keys in Python's repr and in JSON, and nothing else", () => {
    expect(maskSecretsInText("{'password': 'hunter2', 'n': 3}")).toBe("{'password': '****', 'n': 3}");
    expect(maskSecretsInText('{"token": "ab\\"c", "x": "y"}')).toBe('{"token": "****", "x": "y"}');
    expect(maskSecretsInText("{'api_key': 12345, 'user': 'bob'}")).toBe("{'api_key': '****', 'user': 'bob'}");
    expect(maskSecretsInText("{'db_secret': 'it\\'s'}")).toBe("{'db_secret': '****'}");
    // An empty secret stays empty (nothing to hide); tuples and plain strings are left alone.
    expect(maskSecretsInText("{'password': ''}")).toBe("{'password': ''}");
    expect(maskSecretsInText("('password', 'hunter2')")).toBe("('password', 'hunter2')");
  });

  it('passes 2 MB of unclosed quotes and repeated keys in one pass (a quadratic pattern would time out)', () => {
    const unclosed = `'${'x'.repeat(2 << 20)}`;
    expect(maskSecretsInText(unclosed)).toBe(unclosed);
    const open = `{'a': '${'y'.repeat(2 << 20)}`;
    expect(maskSecretsInText(open)).toBe(open);
    const keys = `'a'`.repeat(1 << 19);
    expect(maskSecretsInText(keys)).toBe(keys);
  });
});

describe('cutAndMask', () => {
  it('cuts first, so an 8 MB text costs what its first characters cost', () => {
    const huge = `redis://:hunter2@db ${'x'.repeat(8 << 20)}`;
    expect(cutAndMask(huge, 100)).toEqual({ text: `redis://:****@db ${'x'.repeat(80)}`, truncated: true });
    expect(cutAndMask('short redis://:pw@h', 100)).toEqual({
      text: 'short redis://:****@h',
      truncated: false,
    });
  });

  it('a password the cut left without its @ is masked all the same', () => {
    const text = `${'z'.repeat(50)} amqp://guest:supersecretpassword@mq/`;
    const { text: shown, truncated } = cutAndMask(text, 70);
    expect(truncated).toBe(true);
    expect(shown).toBe(`${'z'.repeat(50)} amqp://guest:****`);
    expect(shown).not.toContain('supersec');
    // Not a URL (no scheme before ://): nothing to mask.
    expect(cutAndMask(`x ://u:abcdef@h`, 10).text).toBe('x ://u:abc');
  });
});
