-- chord-part: one finished chord header task, counted the way Celery 5.2's Redis backend does
-- (RedisBackend.on_chord_part_return with result_chord_ordered, the default), in one step.
-- KEYS[1]  celery-taskset-meta-<group_id>.j  zset of the parts: member [1, task_id, state, result], score group_index
-- KEYS[2]  celery-taskset-meta-<group_id>.t  parts added to a running chord (may be absent)
-- KEYS[3]  celery-taskset-meta-<group_id>.s  the chord size, written by the client that sent the chord
-- ARGV[1]  the member JSON text
-- ARGV[2]  the score: the task's group_index, or '+inf' when it has none
-- ARGV[3]  expiry in seconds of the three keys (0 = no expiry; Celery: result_expires)
-- Returns  {} while parts are missing (or no size was written), else every member in group_index order:
--          this part completed the chord and its body is due. The keys stay until the body was sent.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local added = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if not size or ready ~= tonumber(size) + added then
  return {}
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
