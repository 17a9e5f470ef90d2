--[[
  list: one page of task ids from one index, or from the intersection of several, newest first, with the
  total number of matches; all index scores are the task's `updated` time, so a time range applies to any.

  KEYS[1..n]  index zsets (by-time, by-state:<s>, by-name:<n>, ...), n >= 1
  KEYS[n+1]   scratch key for the intersection, deleted before returning
  ARGV[1]     lowest score (epoch ms, or -inf)
  ARGV[2]     highest score (epoch ms, or +inf)
  ARGV[3]     offset
  ARGV[4]     limit
  Returns     {total, id, id, ...}
]]
local n = #KEYS - 1
local src = KEYS[1]
if n > 1 then
  local args = { KEYS[n + 1], n }
  for i = 1, n do args[#args + 1] = KEYS[i] end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  redis.call('ZINTERSTORE', unpack(args))
  src = KEYS[n + 1]
end
local total = redis.call('ZCOUNT', src, ARGV[1], ARGV[2])
local ids = {}
if total > 0 and tonumber(ARGV[4]) > 0 then
  ids = redis.call('ZREVRANGEBYSCORE', src, ARGV[2], ARGV[1], 'LIMIT', ARGV[3], ARGV[4])
end
if n > 1 then redis.call('DEL', src) end
table.insert(ids, 1, total)
return ids
