-- beat-release: give the leader lease up, only if this beat still holds it.
-- KEYS[1]  lovage:beat:lease
-- ARGV[1]  this beat's token
-- Returns  1 when released, 0 when another beat held it (or nobody)
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
