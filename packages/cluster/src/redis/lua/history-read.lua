-- history-read.lua: move a user's read marker forward (markRead).
-- KEYS[1] hash of counters        (<prefix>:{h:<conv>}:meta; r:<user> = "<seq>:<own sent up to seq>")
-- KEYS[2] hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
-- ARGV[1] user id (raw: names the r:<user> and n:<user> fields)
-- ARGV[2] user token: the user id as entries spell their sender (ASCII-only JSON string)
-- ARGV[3] seq to mark read (clamped to the last seq)
-- ARGV[4] maxPerConversation: entries below the count window are not looked at
-- Returns the marker now. Writes nothing for a marker that would not move (or an absent conversation,
-- which must not be recreated without an expiry).
-- unread = (lastSeq - n) - (readSeq - ownUpTo), ownUpTo = the user's messages with seq <= readSeq.
-- Counted over the entries still stored (lo..lastSeq, inside the count window), on the cheaper exact
-- side: when the old marker is inside that window, ownUpTo(new) = ownUpTo(old) + own in (old, new]
-- or n - own in (new, lastSeq], whichever span is shorter; otherwise n - own in (new, lastSeq], where
-- an own entry already trimmed counts as not own, so unread over-counts it (documented in
-- history-store.ts). A reader's markers thus cost O(1) stored entries per message, amortized.
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if last == 0 then return 0 end
local field = 'r:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[1], field)
local curSeq, curOwn = 0, 0
if cur then
  local a, b = string.match(cur, '^(%d+):(%-?%d+)$')
  curSeq, curOwn = tonumber(a), tonumber(b)
end
local seq = math.min(tonumber(ARGV[3]), last)
if seq <= curSeq then return curSeq end

local token = ARGV[2]
-- The user's entries with seq in a..b (stored ones only), 1000 per HMGET (Lua's unpack has a stack limit).
local function own(a, b)
  local n = 0
  while a <= b do
    local e = math.min(b, a + 999)
    local fields = {}
    for i = a, e do fields[#fields + 1] = i end
    local vals = redis.call('HMGET', KEYS[2], unpack(fields))
    for k = 1, #vals do
      local v = vals[k]
      if v then
        -- The sender token follows "[<sentAt>," and ends at its closing quote (no quote inside).
        local comma = string.find(v, ',', 1, true)
        if comma and string.sub(v, comma + 1, comma + #token) == token then n = n + 1 end
      end
    end
    a = e + 1
  end
  return n
end

local kept = math.max(last - redis.call('HLEN', KEYS[2]) + 1, last - tonumber(ARGV[4]) + 1, 1)
local ownUpTo
if curSeq + 1 >= kept and seq - curSeq <= last - seq then
  ownUpTo = curOwn + own(curSeq + 1, seq)
else
  local sent = tonumber(redis.call('HGET', KEYS[1], 'n:' .. ARGV[1]) or '0')
  ownUpTo = sent - own(math.max(seq + 1, kept), last)
end
redis.call('HSET', KEYS[1], field, string.format('%d:%d', seq, ownUpTo))
return seq
