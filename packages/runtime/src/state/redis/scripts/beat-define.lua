-- beat-define: create, update or delete a console-defined schedule entry, refusing a code entry's name.
-- KEYS[1]  lovage:beat:defs       hash: entry name -> JSON {source, definition, updatedAt, updatedBy}
-- KEYS[2]  lovage:beat:version    counter: moved on every change, so running beats reload
-- KEYS[3]  lovage:beat:entries    hash: entry name -> timing JSON (dropped on delete)
-- KEYS[4]  lovage:beat:disabled   set of disabled entry names
-- KEYS[5]  lovage:beat:runs:<name> list: the entry's run history
-- ARGV[1]  the entry name
-- ARGV[2]  create | update | delete
-- ARGV[3]  the new stored JSON (create and update)
-- Returns  1 done, 0 the name is taken (create), -1 no such console entry, -2 the name is a code entry's
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  if cjson.decode(current).source == 'code' then return -2 end
  if ARGV[2] == 'create' then return 0 end
elseif ARGV[2] ~= 'create' then
  return -1
end
if ARGV[2] == 'delete' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[5])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('INCR', KEYS[2])
return 1
