-- node-remove.lua: a leaving node removes its record, expiry entry and drain flag at once.
-- KEYS[1] zset node id -> expiry, ms   (<prefix>:registry:{nodes}:expiry)
-- KEYS[2] hash node id -> record JSON  (<prefix>:registry:{nodes}:records)
-- KEYS[3] set of node ids asked to drain (<prefix>:registry:{nodes}:drain)
-- ARGV[1] node id
-- Returns 1 when the node had a record, 0 otherwise.
local had = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return had
