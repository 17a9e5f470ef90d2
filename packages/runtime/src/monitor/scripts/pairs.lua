--[[
  pairs: files tasks in the pair indexes (by-state-name, -queue and -worker; see apply.lua), for an index built
  before they existed. The caller walks by-time with ZSCAN (which returns every task present for the whole
  walk at least once) and passes each step's ids here; each is filed under its current fields and score, so
  a task that apply.lua changed or trim.lua removed since the scan is filed correctly or not at all.

  KEYS[1]  <base>by-time
  ARGV[1]  <base>
  ARGV[2..] task ids
  Returns  how many tasks were filed
]]
local base = ARGV[1]
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score then
    local v = redis.call('HMGET', base .. 'task:' .. id, 'state', 'name', 'queue', 'worker')
    if v[1] and v[2] then redis.call('ZADD', base .. 'by-state-name:' .. v[1] .. '\31' .. v[2], score, id) end
    if v[1] and v[3] then redis.call('ZADD', base .. 'by-state-queue:' .. v[1] .. '\31' .. v[3], score, id) end
    if v[1] and v[4] then redis.call('ZADD', base .. 'by-state-worker:' .. v[1] .. '\31' .. v[4], score, id) end
    n = n + 1
  end
end
return n
