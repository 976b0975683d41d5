-- history-index.lua: a user's conversation index gains or refreshes one conversation.
-- KEYS[1] zset conversation id -> last activity, ms   (<prefix>:{<user>}:convs)
-- ARGV[1] conversation id
-- ARGV[2] activity: the message's sentAt, ms (a member's score only moves forward)
-- ARGV[3] cutoff, ms (now - ttl): members with a score <= cutoff are stale (their conversation is gone)
-- ARGV[4] ttl, ms: the index expires this long after its last update
-- ARGV[5] most stale members this call drops
-- Returns 1.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[5]))
if #stale > 0 then redis.call('ZREM', KEYS[1], unpack(stale)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
