-- history-append.lua: append one message to a conversation's history; idempotent by fp, trimmed.
-- KEYS[1] hash of counters        (<prefix>:{h:<conv>}:meta; seq, n:<user>, r:<user>, c:<user>)
-- KEYS[2] hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
-- KEYS[3] hash fp token -> seq    (<prefix>:{h:<conv>}:fps)
-- ARGV[1] fp token: the fp as the entry spells it (a JSON string, ASCII-only, no raw `"` or `\`)
-- ARGV[2] sender's user id (raw: names the n:<user> counter)
-- ARGV[3] entry: JSON array [sentAt,"from","fp",to,typeu,dataContent], sentAt a non-negative integer,
--         "from" and "fp" tokens like ARGV[1], so that the patterns below read them without a JSON parser
-- ARGV[4] maxPerConversation
-- ARGV[5] ttl, ms: the three keys expire this long after the last append
-- ARGV[6] cutoff, ms (now - ttl, caller's clock): an entry with sentAt <= cutoff is expired
-- ARGV[7] most entries this call drops (trimming is bounded; what is left goes with later appends)
-- KEYS[4..] optional: users' conversation indexes (zset conversation id -> last activity, ms;
--          <prefix>:{<user>}:convs), each given the message's sentAt as history-index.lua would.
--          Only where every key may be touched by one script (single Redis, Sentinel); a Redis
--          Cluster client runs history-index.lua per user instead, since those keys live in other slots.
-- ARGV[8] with KEYS[4..]: the conversation id; ARGV[9]: most stale index members one update drops
--          (looked for only when the index gained a member, as in history-index.lua)
-- Returns {seq, duplicate (1/0), sentAt}: a duplicate answers the first write's seq and sentAt and
-- writes nothing to the conversation. A first write no read can return any more (expired, or out of
-- the count window) is not a duplicate: its fp then names the new message.
local max = tonumber(ARGV[4])
local cutoff = tonumber(ARGV[6])
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')

-- The same steps as history-index.lua, for each index key given.
local function index(at)
  for i = 4, #KEYS do
    if redis.call('ZADD', KEYS[i], 'GT', at, ARGV[8]) == 1 then
      local stale = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[6], 'LIMIT', 0, tonumber(ARGV[9]))
      if #stale > 0 then redis.call('ZREM', KEYS[i], unpack(stale)) end
    end
    redis.call('PEXPIRE', KEYS[i], ARGV[5])
  end
end

local dup = redis.call('HGET', KEYS[3], ARGV[1])
if dup then
  local v = redis.call('HGET', KEYS[2], dup)
  local t = v and tonumber(string.match(v, '^%[(%d+),'))
  if t and t > cutoff and tonumber(dup) > last - max then
    index(t)
    return {tonumber(dup), 1, t}
  end
end

local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[2], seq, ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], seq)
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[2], 1)

-- The stored seqs are contiguous (appends at the top, trimming from the bottom): lo..seq.
local lo = seq - redis.call('HLEN', KEYS[2]) + 1
local budget = tonumber(ARGV[7])
while budget > 0 and lo < seq do
  local v = redis.call('HGET', KEYS[2], lo)
  if v then
    if seq - lo + 1 <= max and tonumber(string.match(v, '^%[(%d+),')) > cutoff then break end
    local fp = string.match(v, '^%[%d+,"[^"]*",("[^"]*"),')
    if fp and redis.call('HGET', KEYS[3], fp) == tostring(lo) then redis.call('HDEL', KEYS[3], fp) end
    redis.call('HDEL', KEYS[2], lo)
  end
  lo = lo + 1
  budget = budget - 1
end

redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local sentAt = tonumber(string.match(ARGV[3], '^%[(%d+),'))
index(sentAt)
return {seq, 0, sentAt}
