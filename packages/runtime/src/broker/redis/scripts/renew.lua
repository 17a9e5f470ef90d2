-- renew: extend a consumer's lease, and check that Redis still knows the consumer.
-- KEYS[1]  lovage:workers   zset consumer id -> lease deadline (ms, Redis clock)
-- KEYS[2]  lovage:inflight-index:<id>   hash in-flight list -> source bucket
-- ARGV[1]  consumer id
-- ARGV[2]  lease length in ms
-- Returns  1 when the lease and the index were still there (lease extended), 0 when either is missing:
--          a reaper took the lease, or Redis lost them (restarted without its data). Nothing is re-created
--          here; the caller re-registers with register.lua, which tells the two cases apart.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
