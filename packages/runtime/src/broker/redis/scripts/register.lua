-- register: (re-)establish a consumer's lease and in-flight index, and put back into its in-flight lists the
-- messages it still holds that Redis no longer has. Run before the first reserve and whenever reserve or
-- renew find the lease or the index missing, so a live consumer never holds a message no index names.
-- KEYS[1]       lovage:workers                zset consumer id -> lease deadline (ms, Redis clock)
-- KEYS[2]       lovage:inflight-index:<id>    hash in-flight list -> source bucket
-- KEYS[3]       lovage:reaped:<id>            set by release.lua when a reaper returned this consumer's messages
-- KEYS[3+k]     in-flight list k (every list the consumer has used)
-- ARGV[1]       consumer id
-- ARGV[2]       lease length in ms
-- ARGV[3]       n, the number of in-flight lists in KEYS
-- ARGV[3+k]     the source bucket of in-flight list k (k = 1..n)
-- ARGV[4+n..]   pairs {k, message}: messages the consumer holds (reserved, not yet acknowledged)
-- Returns       -1 when a reaper had taken the lease (the held messages went back to their queues: the
--               consumer must drop those it has not started); otherwise the number of held messages put
--               back into in-flight lists (0 when Redis had lost nothing). Messages go back only when the
--               index was missing, and only those not already there (LPOS), so none is ever doubled.
local n = tonumber(ARGV[3])
local reaped = redis.call('EXISTS', KEYS[3]) == 1
local lost = redis.call('EXISTS', KEYS[2]) == 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
for k = 1, n do redis.call('HSET', KEYS[2], KEYS[3 + k], ARGV[3 + k]) end
if reaped then
  redis.call('DEL', KEYS[3])
  return -1
end
-- With its index, Redis kept the lists too (a reaper deletes both, and marks it): nothing to put back.
if not lost then return 0 end
local restored = 0
for i = 4 + n, #ARGV, 2 do
  local list = KEYS[3 + tonumber(ARGV[i])]
  if not redis.call('LPOS', list, ARGV[i + 1]) then
    redis.call('LPUSH', list, ARGV[i + 1])
    restored = restored + 1
  end
end
return restored
