-- dead-letter: take one message out of an in-flight list and keep it in the queue's dead letters.
-- KEYS[1]  in-flight list
-- KEYS[2]  lovage:dead:<queue>   list of JSON entries {queue, reason, raw, at, consumer}, newest on the left
-- KEYS[3]  lovage:dead-queues    set of the queues that have dead letters
-- ARGV[1]  the message, byte for byte
-- ARGV[2]  the dead-letter entry (JSON)
-- ARGV[3]  the queue
-- Returns  1 when moved, 0 when the message was no longer in flight here (it will be seen again)
-- From the oldest end (-1): the list takes new messages on the left.
local removed = redis.call('LREM', KEYS[1], -1, ARGV[1])
if removed == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1
