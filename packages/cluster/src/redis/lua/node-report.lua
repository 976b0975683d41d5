-- node-report.lua: upsert a node's record with an expiry measured on the Redis clock.
-- KEYS[1] zset node id -> expiry, ms   (<prefix>:registry:{nodes}:expiry)
-- KEYS[2] hash node id -> record JSON  (<prefix>:registry:{nodes}:records)
-- ARGV[1] node id
-- ARGV[2] record JSON
-- ARGV[3] ttl, ms
-- Returns the expiry time (ms since epoch, Redis clock).
local t = redis.call('TIME')
local expiresAt = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], expiresAt, ARGV[1])
return expiresAt
