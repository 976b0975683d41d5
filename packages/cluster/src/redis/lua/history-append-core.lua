-- history-append-core.lua: the append of one message to a conversation's history, as a function that
-- history-append.lua (one message) and history-append-batch.lua (several) end with a call of, and the
-- index update it makes, which history-index.lua calls alone. Not a script of its own: scripts.ts puts
-- it in front of each of them.
--
-- append(meta, msgs, fps, idx, fp, sender, entry, max, ttl, cutoff, conv):
--   meta    hash of counters        (<prefix>:{h:<conv>}:meta): seq (last seq), n:<user>, r:<user>, c:<user>,
--           lo (oldest stored seq) and lt (its sentAt; '0' when not known)
--   msgs    hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
--   fps     hash fp token -> seq    (<prefix>:{h:<conv>}:fps)
--   idx     list of users' conversation indexes (zset conversation id -> last activity, ms;
--           <prefix>:{<user>}:convs), each given the message's sentAt as history-index.lua would; may be
--           empty. Only where every key may be touched by one script (single Redis, Sentinel); a Redis
--           Cluster client runs history-index.lua per user instead, since those keys live in other slots.
--   fp      fp token: the fp as the entry spells it (a JSON string, ASCII-only, no raw `"` or `\`)
--   sender  sender's user id (raw: names the n:<user> counter)
--   entry   JSON array [sentAt,"from","fp",to,typeu,dataContent], sentAt a non-negative integer, "from"
--           and "fp" tokens like fp, so that the patterns below read them without a JSON parser
--   max     maxPerConversation (number)
--   ttl     ms (string): the three keys expire this long after the last append
--   cutoff  ms (string; now - ttl, caller's clock): an entry with sentAt <= cutoff is expired
--   conv    the conversation id (the indexes' member), when idx is not empty
-- Returns {seq, duplicate (1/0), sentAt}: a duplicate answers the first write's seq and sentAt and
-- writes nothing to the conversation. A first write no read can return any more (expired, or out of
-- the count window) is not a duplicate: its fp then names the new message.
-- Needs Redis >= 6.2 (ZADD GT).
local TRIM_BATCH = 100 -- most entries one append drops (the count trim needs one; the rest is ttl backlog)
local PRUNE_BATCH = 100 -- most stale index members one index update drops

-- index(idx, at, cutoff, ttl, conv): each index key in idx gains or refreshes conversation conv with
-- activity at (ZADD GT); stale members (score <= cutoff) are looked for only when the index gained a
-- member, since only then can it grow. `at` as a string (a Lua number of 13 digits would go through
-- sprintf for every call).
local function index(idx, at, cutoff, ttl, conv)
  for i = 1, #idx do
    if redis.call('ZADD', idx[i], 'GT', at, conv) == 1 then
      local stale = redis.call('ZRANGEBYSCORE', idx[i], '-inf', cutoff, 'LIMIT', 0, PRUNE_BATCH)
      if #stale > 0 then redis.call('ZREM', idx[i], unpack(stale)) end
    end
    redis.call('PEXPIRE', idx[i], ttl)
  end
end

local function append(meta, msgs, fps, idx, fp, sender, entry, max, ttl, cutoff, conv)
  local counter = 'n:' .. sender
  local cut = tonumber(cutoff)
  local m = redis.call('HMGET', meta, 'seq', counter, 'lo', 'lt')
  local last = tonumber(m[1]) or 0

  -- A new conversation has no fps to look at.
  local dup = last > 0 and redis.call('HGET', fps, fp)
  if dup then
    local v = redis.call('HGET', msgs, dup)
    local at = v and string.match(v, '^%[(%d+),')
    local t = at and tonumber(at)
    if t and t > cut and tonumber(dup) > last - max then
      index(idx, at, cutoff, ttl, conv)
      return {tonumber(dup), 1, t}
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
  if lo < seq and (seq - lo + 1 > max or tonumber(lt) <= cut) then
    moved = true
    lt = at
    local budget = TRIM_BATCH
    while lo < seq do
      if budget == 0 then lt = '0' break end -- entry lo not looked at: the next append walks on
      local v = redis.call('HGET', msgs, lo)
      if v then
        local t = string.match(v, '^%[(%d+),')
        if seq - lo + 1 <= max and tonumber(t) > cut then lt = t break end
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
  index(idx, at, cutoff, ttl, conv)
  return {seq, 0, tonumber(at)}
end
