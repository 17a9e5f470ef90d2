-- beat-claim: the fencing check before a send. Records an entry's new timing (its last and next run)
-- only if this beat still holds the lease and nobody changed the entry since this beat read it.
-- KEYS[1]  lovage:beat:lease     string: the lease holder's token
-- KEYS[2]  lovage:beat:entries   hash: entry name -> JSON {schedule, last, next}
-- ARGV[1]  this beat's token
-- ARGV[2]  the entry name
-- ARGV[3]  the entry's JSON as this beat read it ('' when there was none)
-- ARGV[4]  the new JSON
-- Returns  1 claimed, 0 the entry changed meanwhile, -1 this beat no longer holds the lease
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local current = redis.call('HGET', KEYS[2], ARGV[2]) or ''
if current ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1
