/** Test cleanup by name, never by flushing: deletes the keys matching `pattern` (SCAN MATCH + DEL). */
import type { Redis } from 'ioredis';

export async function deleteByPattern(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
