-- beat-publish: replace the published code entries with the app's beatSchedule (beat, at start).
-- KEYS[1]  lovage:beat:defs      hash: entry name -> JSON {source, definition, updatedAt, updatedBy}
-- KEYS[2]  lovage:beat:version   counter: moved when anything changed
-- KEYS[3]  lovage:beat:routes    string: JSON {defaultQueue, tasks}, where the app sends what
-- ARGV[1]  JSON object: entry name -> the definition's JSON text
-- ARGV[2]  now, epoch ms (a changed or new entry's updatedAt)
-- ARGV[3]  the routes JSON
-- Returns  1 when something changed, 0 when the store already held exactly these
redis.call('SET', KEYS[3], ARGV[3])
local wanted = cjson.decode(ARGV[1])
local changed = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if wanted[all[i]] == nil and cjson.decode(all[i + 1]).source == 'code' then
    redis.call('HDEL', KEYS[1], all[i])
    changed = 1
  end
end
for name, definition in pairs(wanted) do
  -- Stored as this exact text, so an unchanged entry is recognised by its prefix (keeping its updatedAt).
  local head = '{"source":"code","definition":' .. definition .. ',"updatedAt":'
  local current = redis.call('HGET', KEYS[1], name) or ''
  if string.sub(current, 1, #head) ~= head then
    redis.call('HSET', KEYS[1], name, head .. ARGV[2] .. ',"updatedBy":null}')
    changed = 1
  end
end
if changed == 1 then redis.call('INCR', KEYS[2]) end
return changed
