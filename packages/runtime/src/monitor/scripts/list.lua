--[[
  list: one page of task ids from one index zset, newest first, with how many fall in the score range. All
  index scores are the task's `updated` time, so a time range applies to any index. Paged by rank, so a
  deep page costs what page 1 costs (O(log n + limit)), never a walk over the skipped entries.

  KEYS[1]  the index zset (by-time, by-state:<s>, by-state-name:<s>\31<n>, ...)
  ARGV[1]  lowest score (epoch ms, or -inf)
  ARGV[2]  highest score (epoch ms, or +inf)
  ARGV[3]  offset
  ARGV[4]  limit
  Returns  {total, id, id, ...}
]]
local total = redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[2])
local offset, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
if total == 0 or limit <= 0 or offset >= total then return { total } end
-- The rank (newest first) of the newest entry in range: how many are newer than the range's top.
local top = 0
if ARGV[2] ~= '+inf' then top = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') end
local last = math.min(offset + limit, total) - 1
local ids = redis.call('ZREVRANGE', KEYS[1], top + offset, top + last)
table.insert(ids, 1, total)
return ids
