-- beat-enable: enable or disable a stored schedule entry (code or console).
-- KEYS[1]  lovage:beat:defs       hash: entry name -> JSON
-- KEYS[2]  lovage:beat:version    counter: moved on every change
-- KEYS[3]  lovage:beat:disabled   set of disabled entry names
-- ARGV[1]  the entry name
-- ARGV[2]  1 to enable, 0 to disable
-- Returns  1 done (or already so), 0 no such entry
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local moved
if ARGV[2] == '1' then moved = redis.call('SREM', KEYS[3], ARGV[1]) else moved = redis.call('SADD', KEYS[3], ARGV[1]) end
if moved == 1 then redis.call('INCR', KEYS[2]) end
return 1
