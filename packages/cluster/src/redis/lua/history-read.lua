-- history-read.lua: move a user's read marker forward (markRead).
-- KEYS[1] hash of counters        (<prefix>:{h:<conv>}:meta; r:<user> = "<seq>:<own sent up to seq>")
-- KEYS[2] hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
-- ARGV[1] user id (raw: names the r:<user> and n:<user> fields)
-- ARGV[2] user token: the user id as entries spell their sender (ASCII-only JSON string)
-- ARGV[3] seq to mark read (clamped to the last seq)
-- ARGV[4] maxPerConversation: entries below the count window are not looked at
-- Returns the marker now. Writes nothing for a marker that would not move (or an absent conversation,
-- which must not be recreated without an expiry).
-- unread = (lastSeq - n) - (readSeq - ownUpTo). ownUpTo = n - (the user's entries with seq in
-- (readSeq, lastSeq]), counted over the entries still stored: an own entry trimmed in that range counts
-- as not own, so unread over-counts it (documented in history-store.ts).
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if last == 0 then return 0 end
local field = 'r:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[1], field)
local curSeq = 0
if cur then curSeq = tonumber(string.match(cur, '^(%d+):')) end
local seq = math.min(tonumber(ARGV[3]), last)
if seq <= curSeq then return curSeq end

local token = ARGV[2]
local own = 0
local s = math.max(seq + 1, last - tonumber(ARGV[4]) + 1)
while s <= last do
  local e = math.min(last, s + 999)
  local fields = {}
  for i = s, e do fields[#fields + 1] = i end
  local vals = redis.call('HMGET', KEYS[2], unpack(fields))
  for k = 1, #vals do
    local v = vals[k]
    if v then
      -- The sender token follows "[<sentAt>," and ends at its closing quote (no quote inside).
      local comma = string.find(v, ',', 1, true)
      if comma and string.sub(v, comma + 1, comma + #token) == token then own = own + 1 end
    end
  end
  s = e + 1
end
local sent = tonumber(redis.call('HGET', KEYS[1], 'n:' .. ARGV[1]) or '0')
redis.call('HSET', KEYS[1], field, string.format('%d:%d', seq, sent - own))
return seq
