-- history-append.lua: append messages to their conversations' histories, in order; each idempotent by
-- fp, trimmed. One call carries one message or a batch (a gateway's appends of one event-loop turn on a
-- single Redis), so that the per-call costs of the client and of Redis are paid once per batch.
-- ARGV[1] index keys per message: 0 or 2 (see KEYS)
-- ARGV[2] maxPerConversation
-- ARGV[3] ttl, ms: a conversation's three keys expire this long after its last append
-- ARGV[4] cutoff, ms (now - ttl, caller's clock): an entry with sentAt <= cutoff is expired
-- Then per message, 4 arguments from ARGV[5]:
--   fp token: the fp as the entry spells it (a JSON string, ASCII-only, no raw `"` or `\`)
--   sender's user id (raw: names the n:<user> counter)
--   entry: JSON array [sentAt,"from","fp",to,typeu,dataContent], sentAt a non-negative integer,
--     "from" and "fp" tokens like the fp token, so that the patterns below read them without a JSON parser
--   the conversation id (the member its users' indexes get)
-- KEYS[1] .. KEYS[3 + ARGV[1]]: the first message's keys, and so on for each further message:
--   hash of counters        (<prefix>:{h:<conv>}:meta): seq (last seq), n:<user>, r:<user>, c:<user>,
--                           lo (oldest stored seq) and lt (its sentAt; '0' when not known)
--   hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
--   hash fp token -> seq    (<prefix>:{h:<conv>}:fps)
--   with ARGV[1] = 2: the users' conversation indexes (zset conversation id -> last activity, ms;
--     <prefix>:{<user>}:convs), each given the message's sentAt as history-index.lua would. Only where
--     every key may be touched by one script (single Redis, Sentinel); a Redis Cluster client sends one
--     message per call without them and runs history-index.lua per user, since those keys live in other slots.
-- Returns per message seq, duplicate (1/0), sentAt (three numbers each, flat): a duplicate answers the
-- first write's seq and sentAt and writes nothing to the conversation. A first write no read can return
-- any more (expired, or out of the count window) is not a duplicate: its fp then names the new message.
-- Needs Redis >= 6.2 (ZADD GT).
local TRIM_BATCH = 100 -- most entries one append drops (the count trim needs one; the rest is ttl backlog)
local PRUNE_BATCH = 100 -- most stale index members one index update drops
local nIndex = tonumber(ARGV[1])
local max, ttl, cutoffArg = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local cutoff = tonumber(cutoffArg)

-- The same steps as history-index.lua, for the index keys KEYS[k + 4 .. k + 3 + nIndex]; `at` as a
-- string (a Lua number of 13 digits would go through sprintf for every call).
local function index(k, at, conv)
  for i = k + 4, k + 3 + nIndex do
    if redis.call('ZADD', KEYS[i], 'GT', at, conv) == 1 then
      local stale = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', cutoffArg, 'LIMIT', 0, PRUNE_BATCH)
      if #stale > 0 then redis.call('ZREM', KEYS[i], unpack(stale)) end
    end
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end

-- One message: its keys from KEYS[k + 1], its arguments from ARGV[a + 1]. Returns seq, duplicate, sentAt.
local function append(k, a)
  local meta, msgs, fps = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local fp, counter, entry, conv = ARGV[a + 1], 'n:' .. ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local m = redis.call('HMGET', meta, 'seq', counter, 'lo', 'lt')
  local last = tonumber(m[1]) or 0

  -- A new conversation has no fps to look at.
  local dup = last > 0 and redis.call('HGET', fps, fp)
  if dup then
    local v = redis.call('HGET', msgs, dup)
    local at = v and string.match(v, '^%[(%d+),')
    local t = at and tonumber(at)
    if t and t > cutoff and tonumber(dup) > last - max then
      index(k, at, conv)
      return tonumber(dup), 1, t
    end
  end

  local seq = last + 1
  local at = string.match(entry, '^%[(%d+),')
  redis.call('HSET', msgs, seq, entry)
  redis.call('HSET', fps, fp, seq)

  -- The stored seqs are contiguous (appends at the top, trimming from the bottom): lo..seq, and lt is
  -- the sentAt of entry lo. While entry lo is inside the count window and unexpired nothing needs
  -- trimming (the walk below would stop at once), so the usual append reads nothing of msgs.
  local lo, lt
  if last == 0 then
    lo, lt = seq, at
  else
    lo, lt = tonumber(m[3]), m[4]
    if not lo then lo, lt = seq - redis.call('HLEN', msgs) + 1, '0' end -- no lo (older layout): walk
  end
  local moved = last == 0
  if lo < seq and (seq - lo + 1 > max or tonumber(lt) <= cutoff) then
    moved = true
    lt = at
    local budget = TRIM_BATCH
    while lo < seq do
      if budget == 0 then lt = '0' break end -- entry lo not looked at: the next append walks on
      local v = redis.call('HGET', msgs, lo)
      if v then
        local t = string.match(v, '^%[(%d+),')
        if seq - lo + 1 <= max and tonumber(t) > cutoff then lt = t break end
        local f = string.match(v, '^%[%d+,"[^"]*",("[^"]*"),')
        if f and redis.call('HGET', fps, f) == tostring(lo) then redis.call('HDEL', fps, f) end
        redis.call('HDEL', msgs, lo)
      end
      lo = lo + 1
      budget = budget - 1
    end
  end

  if moved then
    redis.call('HSET', meta, 'seq', seq, counter, (tonumber(m[2]) or 0) + 1, 'lo', lo, 'lt', lt)
  else
    redis.call('HSET', meta, 'seq', seq, counter, (tonumber(m[2]) or 0) + 1)
  end
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', msgs, ttl)
  redis.call('PEXPIRE', fps, ttl)
  index(k, at, conv)
  return seq, 0, tonumber(at)
end

local per = 3 + nIndex
local out = {}
for i = 0, #KEYS / per - 1 do
  local seq, dup, at = append(i * per, 4 + i * 4)
  out[#out + 1] = seq
  out[#out + 1] = dup
  out[#out + 1] = at
end
return out
