-- expired: list consumers whose lease has lapsed, by the Redis clock (no skew between hosts).
-- KEYS[1]  lovage:workers   zset consumer id -> lease deadline (ms)
-- ARGV[1]  max ids to return
-- Returns  array of consumer ids
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
