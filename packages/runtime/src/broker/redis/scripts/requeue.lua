-- requeue: take one message out of an in-flight list and put it back on its queue.
-- KEYS[1]  in-flight list
-- KEYS[2]  source queue bucket
-- ARGV[1]  the message, byte for byte
-- ARGV[2]  'front' (RPUSH: consumed next, a release) or 'back' (LPUSH: behind the others, a reject)
-- Returns  1 when moved, 0 when the message was no longer in flight here (a reaper returned it already)
-- From the oldest end (-1): the list takes new messages on the left.
local removed = redis.call('LREM', KEYS[1], -1, ARGV[1])
if removed == 0 then return 0 end
if ARGV[2] == 'front' then
  redis.call('RPUSH', KEYS[2], ARGV[1])
else
  redis.call('LPUSH', KEYS[2], ARGV[1])
end
return 1
