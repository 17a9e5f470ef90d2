-- renew: extend a consumer's lease.
-- KEYS[1]  lovage:workers   zset consumer id -> lease deadline (ms, Redis clock)
-- ARGV[1]  consumer id
-- ARGV[2]  lease length in ms
-- Returns  1 when the lease was still held, 0 when it had lapsed and been reaped (the consumer's messages
--          went back to their queues; the caller must drop what it reserved and not yet started).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if added == 1 then return 0 end
return 1
