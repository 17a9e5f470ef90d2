--[[
  walk: one bounded step of a list filtered on several indexes that no single index answers (state and
  worker, three filters, ...). Reads up to ARGV[4] entries of the driving index (the smallest), newest
  first from rank ARGV[3], and keeps those in every other index. The caller repeats from the returned rank,
  so Redis is held for one step at a time (about a millisecond), never for a whole intersection.

  KEYS[1]     the driving index zset
  KEYS[2..n]  the other index zsets
  ARGV[1]     lowest score (epoch ms, or -inf)
  ARGV[2]     highest score (epoch ms, or +inf)
  ARGV[3]     rank to start at (newest first)
  ARGV[4]     entries to read
  ARGV[5]     '1' to return the matching ids, '0' to count them only
  Returns     {next rank, or -1 when the range is done; matches; id, id, ...}
]]
local min = ARGV[1] == '-inf' and -math.huge or tonumber(ARGV[1])
local max = ARGV[2] == '+inf' and math.huge or tonumber(ARGV[2])
local start, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local withIds = ARGV[5] == '1'
local entries = redis.call('ZREVRANGE', KEYS[1], start, start + count - 1, 'WITHSCORES')
local out = { -1, 0 }
local matches = 0
for i = 1, #entries, 2 do
  local id, score = entries[i], tonumber(entries[i + 1])
  -- Newest first: past the range's bottom, nothing further matches.
  if score < min then
    out[2] = matches
    return out
  end
  if score <= max then
    local all = true
    for k = 2, #KEYS do
      if not redis.call('ZSCORE', KEYS[k], id) then
        all = false
        break
      end
    end
    if all then
      matches = matches + 1
      if withIds then out[#out + 1] = id end
    end
  end
end
if #entries == count * 2 then out[1] = start + count end
out[2] = matches
return out
