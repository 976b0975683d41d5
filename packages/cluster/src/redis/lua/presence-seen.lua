-- presence-seen.lua: record when a user was last online; the time only ever moves forward.
-- KEYS[1] the user's last-seen time, ms since epoch   (<prefix>:{<user>}:seen)
-- ARGV[1] the time, ms since epoch
-- ARGV[2] how long to keep it, ms
-- Returns 1 when written, 0 when the kept time was already later.
local prev = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = tonumber(ARGV[1])
if prev ~= nil and prev >= at then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
