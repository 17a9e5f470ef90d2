/** Deletes a bench run's keys by prefix (SCAN + UNLINK, never KEYS or a flush) in the given databases. */
import { Redis } from 'ioredis';

export async function deleteByPrefix(
  url: string,
  prefix: string,
  dbs: readonly number[] = [0],
): Promise<void> {
  const r = new Redis(url);
  try {
    for (const db of dbs) {
      await r.select(db);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}
