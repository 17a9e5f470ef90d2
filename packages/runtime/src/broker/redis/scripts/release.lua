-- release: return every message of a consumer's in-flight lists to the front of its queue (next to be
-- consumed, oldest first) and drop the consumer. Used on a graceful close and by reapers for a consumer
-- whose lease lapsed.
-- KEYS[1]       lovage:workers             zset
-- KEYS[2]       lovage:inflight-index:<id>  hash in-flight list -> source queue bucket
-- KEYS[3]       lovage:reaped:<id>          set in reaper mode, so the consumer, if it is alive after all,
--                                           learns that its messages went back (register.lua); kept a day
-- KEYS[2k+2]    in-flight list k
-- KEYS[2k+3]    its source queue bucket
-- ARGV[1]       consumer id
-- ARGV[2]       '1' to release only when the lease has lapsed (reaper), '0' always (owner)
-- Returns       number of messages returned, or -1 when the lease was live (reaper mode)
if ARGV[2] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if deadline and tonumber(deadline) > now then return -1 end
end
local n = 0
for i = 4, #KEYS, 2 do
  while true do
    local m = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
    if not m then break end
    n = n + 1
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if ARGV[2] == '1' then redis.call('SET', KEYS[3], '1', 'PX', 86400000) end
return n
