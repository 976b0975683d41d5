-- history-index.lua: a user's conversation index gains or refreshes one conversation.
-- KEYS[1] zset conversation id -> last activity, ms   (<prefix>:{<user>}:convs)
-- ARGV[1] conversation id
-- ARGV[2] activity: the message's sentAt, ms (a member's score only moves forward: ZADD GT, Redis >= 6.2)
-- ARGV[3] cutoff, ms (now - ttl): members with a score <= cutoff are stale (their conversation is gone)
-- ARGV[4] ttl, ms: the index expires this long after its last update
-- Stale members are looked for only when the index gained a member (ZADD answers 1): only then can it
-- grow, and a refresh of a known conversation, the usual case, costs no range scan. Reads skip them.
-- Returns 1.
local PRUNE_BATCH = 100 -- most stale members one update drops (as in history-append.lua)
if redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1]) == 1 then
  local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, PRUNE_BATCH)
  if #stale > 0 then redis.call('ZREM', KEYS[1], unpack(stale)) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
