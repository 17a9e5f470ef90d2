-- dead-letter: take one message out of an in-flight list and keep it in the queue's dead letters.
-- KEYS[1]  in-flight list
-- KEYS[2]  lovage:dead:<queue>   list of JSON entries {queue, reason, raw, at, consumer}, newest on the left
-- ARGV[1]  the message, byte for byte
-- ARGV[2]  the dead-letter entry (JSON)
-- Returns  1 when moved, 0 when the message was no longer in flight here (it will be seen again)
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
