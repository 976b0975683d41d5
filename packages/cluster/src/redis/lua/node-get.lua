-- node-get.lua: one live node's record.
-- KEYS[1] zset node id -> expiry, ms   (<prefix>:registry:{nodes}:expiry)
-- KEYS[2] hash node id -> record JSON  (<prefix>:registry:{nodes}:records)
-- ARGV[1] node id
-- Returns the record JSON, or nil (false) when the node is unknown or expired.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiresAt = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiresAt or tonumber(expiresAt) <= now then
  return false
end
return redis.call('HGET', KEYS[2], ARGV[1])
