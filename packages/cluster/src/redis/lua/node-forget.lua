-- node-forget.lua: drop an expired node for good (after its routes were purged) and its drain flag.
-- A node that reported again in the meantime (live) keeps its record.
-- KEYS[1] zset node id -> expiry, ms   (<prefix>:registry:{nodes}:expiry)
-- KEYS[2] hash node id -> record JSON  (<prefix>:registry:{nodes}:records)
-- KEYS[3] set of node ids asked to drain (<prefix>:registry:{nodes}:drain)
-- ARGV[1] node id
-- Returns 1 when an expired record was dropped, 0 otherwise.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = 0
local expiresAt = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiresAt and tonumber(expiresAt) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  dropped = 1
end
redis.call('SREM', KEYS[3], ARGV[1])
return dropped
