-- reserve: move up to N messages from queues into this consumer's in-flight lists, atomically, and renew
-- the consumer's lease. A message is always in exactly one place: a queue, or one consumer's in-flight list.
-- Nothing moves unless the consumer's lease and in-flight index both exist: a message moved into a list no
-- index names would be invisible to the reapers and to the consumer's own release (Redis restarted without
-- its data, or a reaper took the lease). The caller re-registers (register.lua) and tries again.
-- KEYS[1]       lovage:workers            zset consumer id -> lease deadline (ms, Redis clock)
-- KEYS[2]       lovage:inflight-index:<id> hash in-flight list -> source bucket
-- KEYS[2k+1]    source queue bucket k     list (kombu layout; LPUSH by producers, consumed from the right)
-- KEYS[2k+2]    in-flight list for k      list (newest on the left)
--               Pairs come in consumption order: priority-major, then queue.
-- ARGV[1]       consumer id
-- ARGV[2]       max messages to move
-- ARGV[3]       lease length in ms
-- Returns       flat array {pairIndex, message, pairIndex, message, ...} (pairIndex is 0-based), or -1 when
--               the lease or the index is missing (nothing moved)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
local max = tonumber(ARGV[2])
local out = {}
local n = 0
for i = 3, #KEYS, 2 do
  if n >= max then break end
  while n < max do
    local m = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'LEFT')
    if not m then break end
    n = n + 1
    out[#out + 1] = (i - 3) / 2
    out[#out + 1] = m
  end
end
return out
