-- store-result: write a task state the way Celery's Redis backend does, in one step.
-- KEYS[1]  celery-task-meta-<task_id>
-- ARGV[1]  the meta JSON text
-- ARGV[2]  expiry in seconds (0 = keep forever; Celery: result_expires)
-- Returns  1 when written and published on the channel named like the key,
--          0 when a SUCCESS was already stored (Celery never overwrites SUCCESS).
local current = redis.call('GET', KEYS[1])
if current and string.find(current, '"status":%s*"SUCCESS"') then
  return 0
end
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
