-- dead-letter-take: remove one dead letter by id, and optionally put its raw message back on its queue.
-- KEYS[1]  lovage:dead:<queue>   list of JSON entries {id, queue, reason, raw, at, consumer[, message]}
-- KEYS[2]  the queue's priority-0 bucket (where a requeued message goes, behind the others)
-- KEYS[3]  lovage:dead-queues    set of the queues that have dead letters (the queue leaves it with its last)
-- ARGV[1]  the entry id
-- ARGV[2]  'requeue' (only when the state shares the broker's Redis) or 'delete'
-- ARGV[3]  the queue
-- Returns  the entry (JSON) when it was found (and moved or deleted), false when there is no such entry
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local needle = '"id":"' .. ARGV[1] .. '"'
for _, entry in ipairs(entries) do
  if string.find(entry, needle, 1, true) then
    redis.call('LREM', KEYS[1], 1, entry)
    if ARGV[2] == 'requeue' then
      redis.call('LPUSH', KEYS[2], cjson.decode(entry).raw)
    end
    if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[3]) end
    return entry
  end
end
return false
