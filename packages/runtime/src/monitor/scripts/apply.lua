--[[
  apply: folds a batch of events into the task index, atomically. Several monitors may apply the same
  events, in any order and any number of times: for the event sequences workers send, a task's fields and
  index entries end up the same, and the per-state counts (the cardinalities of the by-state sets) never
  count a task twice.

  Whether an event sets a task's state (Celery's events.state.Task.event, made order-tolerant):
    - no state yet: it does;
    - the same state: it does if it is not older than the event that set it (a task received again);
    - older than the task's latest `task-retried`: it does not (news of an earlier attempt);
    - RETRY on either side: the later event does (a retried task keeps its id and goes round again),
      so a late `task-retried` cannot undo a SUCCESS that came after it;
    - otherwise the higher precedence does (task/states.ts), so a late `task-received` never overwrites
      SUCCESS.
  An event that sets the state overwrites the fields it carries; one that does not only fills fields
  still empty. name, parent_id, root_id and group never change once set; retries only grows. Per-state
  timestamps (ts_<state>) and `updated` keep the latest time seen.

  Every index is a sorted set of task ids scored by `updated` (epoch ms of the latest event).

  KEYS[1]  <base>by-time      zset  every task id -> updated
  KEYS[2]  <base>workers      hash  hostname -> worker record (JSON built by the caller)
  KEYS[3]  <base>worker-ts    hash  hostname -> epoch ms of the event that record came from
  Keys built from ARGV[1] (<base>):
           task:<id>          hash  the task's fields: id, state, state_ts, updated, ts_<state>, and
                                    the data fields of the rows (name, args, ..., runtime)
           by-state:<state>, by-name:<name>, by-worker:<hostname>, by-queue:<queue>, by-parent:<id>,
           by-root:<id> (not the root itself), by-group:<id>,
           by-state-name:<state>\31<name>, by-state-queue:<state>\31<queue>,
           by-state-worker:<state>\31<hostname> (the pairs the console filters
           on together, so such a list is one range read: an intersection of two large sets would hold
           Redis for as long as it takes)
                              zset  task id -> updated
           states, names, queues
                              set   values that have an index set
  ARGV[1]  <base>: key prefix, e.g. "lovage:index:"
  ARGV[2]  JSON {state: rank}: Celery's precedence, lower is more important
  ARGV[3]  rank of a state not in ARGV[2]
  ARGV[4]  JSON batch {t: [task rows], w: [worker rows]}
           task row   {i: id, s: state, f: "ts_<state>" | absent, t: epoch ms, d: {field: string}}
           worker row {h: hostname, t: epoch ms, o: true when offline, r: record JSON}
  Returns  {changed task ids, changed hostnames}
]]
local base = ARGV[1]
local rank = cjson.decode(ARGV[2])
local unknownRank = tonumber(ARGV[3])
local batch = cjson.decode(ARGV[4])

local function rk(state)
  local r = rank[state]
  if r == nil then return unknownRank end
  return r
end

-- Always read: what decides the state and what the indexes hold. Other fields are read when an event
-- of the batch carries them.
local BASE_FIELDS = {
  'state', 'state_ts', 'updated', 'ts_retried', 'name', 'worker', 'queue', 'parent_id', 'root_id', 'group',
}
local STICKY = { name = true, parent_id = true, root_id = true, group = true }
-- field, index key infix, set of values (or false)
local INDEXED = {
  { 'state', 'by-state:', 'states' },
  { 'name', 'by-name:', 'names' },
  { 'worker', 'by-worker:', false },
  { 'queue', 'by-queue:', 'queues' },
  { 'parent_id', 'by-parent:', false },
  { 'root_id', 'by-root:', false, true },
  { 'group', 'by-group:', false },
}

-- Pairs of fields indexed together (first field, second field, key infix); the values are joined by \31
-- (ASCII unit separator), which task names, queue names and states do not contain.
local PAIRS = {
  { 'state', 'name', 'by-state-name:' },
  { 'state', 'queue', 'by-state-queue:' },
  { 'state', 'worker', 'by-state-worker:' },
}

local function str(v)
  if type(v) == 'number' then return string.format('%d', v) end
  return v
end

-- Group by task so each task is read and written once per batch.
local groups, order = {}, {}
for _, e in ipairs(batch.t) do
  local g = groups[e.i]
  if not g then
    g = {}
    groups[e.i] = g
    order[#order + 1] = e.i
  end
  g[#g + 1] = e
end

-- Index writes gathered per key: {keys = {key...}, args = {key = {arg...}}}.
local removes, adds, sets = { keys = {}, args = {} }, { keys = {}, args = {} }, { keys = {}, args = {} }
local setMembers = {}
local function queue(pending, k, a, b)
  local args = pending.args[k]
  if not args then
    args = {}
    pending.args[k] = args
    pending.keys[#pending.keys + 1] = k
  end
  if pending == sets then
    -- Each value once per call.
    local seen = setMembers[k]
    if not seen then
      seen = {}
      setMembers[k] = seen
    end
    if seen[a] then return end
    seen[a] = true
  end
  args[#args + 1] = a
  if b ~= nil then args[#args + 1] = b end
end

local changed = {}
for _, id in ipairs(order) do
  local key = base .. 'task:' .. id
  local fields, wanted = {}, {}
  for i, f in ipairs(BASE_FIELDS) do
    fields[i] = f
    wanted[f] = true
  end
  for _, e in ipairs(groups[id]) do
    if e.f and not wanted[e.f] then
      wanted[e.f] = true
      fields[#fields + 1] = e.f
    end
    if e.d then
      for k in pairs(e.d) do
        if not wanted[k] then
          wanted[k] = true
          fields[#fields + 1] = k
        end
      end
    end
  end
  local vals = redis.call('HMGET', key, unpack(fields))
  local cur, orig = {}, {}
  for i, f in ipairs(fields) do
    local v = vals[i]
    if v then
      cur[f] = v
      orig[f] = v
    end
  end
  local stateTs = tonumber(cur.state_ts) or 0
  local updated = tonumber(cur.updated) or 0

  for _, e in ipairs(groups[id]) do
    local s, t = e.s, e.t
    local cs = cur.state
    local win
    local retriedTs = tonumber(cur.ts_retried)
    if s ~= 'RETRY' and retriedTs and t < retriedTs then
      win = false -- an earlier attempt's news
    elseif not cs then
      win = true
    elseif s == cs then
      win = t >= stateTs
    elseif s == 'RETRY' or cs == 'RETRY' then
      win = t > stateTs or (t == stateTs and rk(s) < rk(cs))
    else
      win = rk(s) < rk(cs)
    end
    if win then
      cur.state = s
      stateTs = t
    end
    if e.f then
      local old = tonumber(cur[e.f])
      if not old or t > old then cur[e.f] = t end
    end
    if t > updated then updated = t end
    if e.d then
      for k, v in pairs(e.d) do
        if STICKY[k] then
          if not cur[k] then cur[k] = v end
        elseif k == 'retries' then
          if not cur[k] or tonumber(v) > tonumber(cur[k]) then cur[k] = v end
        elseif win or not cur[k] then
          cur[k] = v
        end
      end
    end
  end
  cur.state_ts = stateTs
  cur.updated = updated

  local hset = {}
  for _, f in ipairs(fields) do
    local v = cur[f]
    if v ~= nil then
      v = str(v)
      if v ~= orig[f] then
        hset[#hset + 1] = f
        hset[#hset + 1] = v
      end
    end
  end
  if #hset > 0 then
    if not orig.state then
      hset[#hset + 1] = 'id'
      hset[#hset + 1] = id
    end
    redis.call('HSET', key, unpack(hset))
    local score = str(updated)
    local rescore = score ~= orig.updated
    for _, ix in ipairs(INDEXED) do
      local f, infix, set = ix[1], ix[2], ix[3]
      local old, new = orig[f], cur[f]
      -- A root is not filed under itself: a task sent alone would otherwise cost a by-root key of its own.
      if ix[4] then
        if old == id then old = nil end
        if new == id then new = nil end
      end
      if old and old ~= new then queue(removes, base .. infix .. old, id) end
      if new and (rescore or new ~= old) then
        queue(adds, base .. infix .. new, score, id)
        if set and new ~= old then queue(sets, base .. set, new) end
      end
    end
    for _, p in ipairs(PAIRS) do
      local oa, ob, na, nb = orig[p[1]], orig[p[2]], cur[p[1]], cur[p[2]]
      local old = (oa and ob) and (oa .. '\31' .. ob) or nil
      local new = (na and nb) and (str(na) .. '\31' .. str(nb)) or nil
      if old and old ~= new then queue(removes, base .. p[3] .. old, id) end
      if new and (rescore or new ~= old) then queue(adds, base .. p[3] .. new, score, id) end
    end
    if rescore then queue(adds, KEYS[1], score, id) end
    changed[#changed + 1] = id
  end
end

-- Index writes, one command per key (and per 500 members): a task's old and new entries are always in
-- different keys, so removing first and adding after is the same as doing it task by task.
local function flush(command, pending, width)
  for _, k in ipairs(pending.keys) do
    local args = pending.args[k]
    local per = 500 * width
    for i = 1, #args, per do
      redis.call(command, k, unpack(args, i, math.min(i + per - 1, #args)))
    end
  end
end
flush('ZREM', removes, 1)
flush('ZADD', adds, 2)
flush('SADD', sets, 1)

local hosts, seen = {}, {}
for _, w in ipairs(batch.w) do
  local prev = tonumber(redis.call('HGET', KEYS[3], w.h))
  local take = not prev or w.t > prev
  if not take and w.t == prev and w.o == true then
    -- Same instant: offline wins over a heartbeat; the very same event again changes nothing.
    take = redis.call('HGET', KEYS[2], w.h) ~= w.r
  end
  if take then
    redis.call('HSET', KEYS[2], w.h, w.r)
    redis.call('HSET', KEYS[3], w.h, str(w.t))
    if not seen[w.h] then
      seen[w.h] = true
      hosts[#hosts + 1] = w.h
    end
  end
end

return { changed, hosts }
