-- beat-lease: take beat's leader lease, or renew it when this beat already holds it.
-- KEYS[1]  lovage:beat:lease   string: the holder's token, expiring after the lease
-- ARGV[1]  this beat's token
-- ARGV[2]  lease length in milliseconds
-- Returns  1 when this beat holds the lease now (taken or renewed), 0 when another beat holds it
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
