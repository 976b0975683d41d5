-- offline-store.lua: append one message to a user's offline queue; idempotent by fp, capped.
-- KEYS[1] list of fps, oldest first    (<prefix>:{<user>}:offline:q)
-- KEYS[2] hash fp -> stored message     (<prefix>:{<user>}:offline:m)
-- ARGV[1] fp
-- ARGV[2] stored message (JSON {"t":storedAt,"p":packet})
-- ARGV[3] capacity (max messages in the queue)
-- ARGV[4] ttl, ms: both keys expire this long after the last successful store
-- Returns 'stored', 'duplicate' (fp already queued: the first copy is kept) or 'full' (nothing stored).
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 'duplicate'
end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then
  return 'full'
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 'stored'
