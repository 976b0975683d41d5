-- node-list.lua: records of every live (unexpired) node.
-- KEYS[1] zset node id -> expiry, ms   (<prefix>:registry:{nodes}:expiry)
-- KEYS[2] hash node id -> record JSON  (<prefix>:registry:{nodes}:records)
-- ARGV none
-- Returns an array of record JSON strings, in no particular order.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local out = {}
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[2], id)
  if rec then out[#out + 1] = rec end
end
return out
