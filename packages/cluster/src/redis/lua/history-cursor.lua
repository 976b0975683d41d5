-- history-cursor.lua: move a user's delivery cursor forward (advanceCursor).
-- KEYS[1] hash of counters        (<prefix>:{h:<conv>}:meta; c:<user>)
-- ARGV[1] user id (raw: names the c:<user> field)
-- ARGV[2] seq (clamped to the last seq)
-- Returns the cursor now. Writes nothing when it would not move (an absent conversation has last seq 0).
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local seq = math.min(tonumber(ARGV[2]), last)
local field = 'c:' .. ARGV[1]
local cur = tonumber(redis.call('HGET', KEYS[1], field) or '0')
if seq > cur then
  redis.call('HSET', KEYS[1], field, string.format('%d', seq))
  return seq
end
return cur
