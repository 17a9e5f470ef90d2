--[[
  trim: removes tasks from every index: first those last updated before a cutoff, then the oldest beyond a
  maximum count; and forgets workers not heard from since the cutoff. Removes at most ARGV[4] tasks per
  call so that Redis is never blocked for long: the caller repeats while a call removed that many.

  KEYS[1]  <base>by-time      zset  task id -> updated (epoch ms)
  KEYS[2]  <base>workers      hash  hostname -> worker record JSON
  KEYS[3]  <base>worker-ts    hash  hostname -> epoch ms of its latest event
  Keys built from ARGV[1]: task:<id>, by-state:/by-name:/by-worker:/by-queue:/by-parent:/by-root:/by-group:
  <value>, by-state-name:/by-state-queue:/by-state-worker:<state>\31<value>, and the sets states/names/queues (a value leaves its set when its index becomes empty). See
  apply.lua.
  ARGV[1]  <base>
  ARGV[2]  most tasks to keep
  ARGV[3]  cutoff, epoch ms: tasks and workers last updated before it go
  ARGV[4]  most tasks to remove in this call
  Returns  the number of tasks removed
]]
local base = ARGV[1]
local maxTasks = tonumber(ARGV[2])
local cutoff = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])

local victims = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3], 'LIMIT', 0, budget)
local n = #victims
if n < budget then
  -- The aged ones are the lowest ranks 0..n-1; the excess follows them.
  local excess = redis.call('ZCARD', KEYS[1]) - n - maxTasks
  if excess > 0 then
    local more = redis.call('ZRANGE', KEYS[1], n, n + math.min(excess, budget - n) - 1)
    for _, id in ipairs(more) do victims[#victims + 1] = id end
  end
end

local INDEXED = {
  { 'state', 'by-state:', 'states' },
  { 'name', 'by-name:', 'names' },
  { 'worker', 'by-worker:', false },
  { 'queue', 'by-queue:', 'queues' },
  { 'parent_id', 'by-parent:', false },
  { 'root_id', 'by-root:', false },
  { 'group', 'by-group:', false },
}
for _, id in ipairs(victims) do
  local key = base .. 'task:' .. id
  local v = redis.call('HMGET', key, 'state', 'name', 'worker', 'queue', 'parent_id', 'root_id', 'group')
  for i, ix in ipairs(INDEXED) do
    local value = v[i]
    if value then
      local k = base .. ix[2] .. value
      redis.call('ZREM', k, id)
      if ix[3] and redis.call('EXISTS', k) == 0 then redis.call('SREM', base .. ix[3], value) end
    end
  end
  -- v[1] state, v[2] name, v[3] worker, v[4] queue: the pair indexes (apply.lua's PAIRS).
  if v[1] and v[2] then redis.call('ZREM', base .. 'by-state-name:' .. v[1] .. '\31' .. v[2], id) end
  if v[1] and v[4] then redis.call('ZREM', base .. 'by-state-queue:' .. v[1] .. '\31' .. v[4], id) end
  if v[1] and v[3] then redis.call('ZREM', base .. 'by-state-worker:' .. v[1] .. '\31' .. v[3], id) end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], id)
end

local ts = redis.call('HGETALL', KEYS[3])
for i = 1, #ts, 2 do
  if tonumber(ts[i + 1]) < cutoff then
    redis.call('HDEL', KEYS[2], ts[i])
    redis.call('HDEL', KEYS[3], ts[i])
  end
end

return #victims
