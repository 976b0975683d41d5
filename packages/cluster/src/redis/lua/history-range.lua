-- history-range.lua: a page of a conversation's kept messages, for before() and after().
-- KEYS[1] hash of counters        (<prefix>:{h:<conv>}:meta)
-- KEYS[2] hash seq -> entry       (<prefix>:{h:<conv>}:msgs)
-- ARGV[1] 'before' (the newest ARGV[3] with seq < ARGV[2]) or 'after' (the oldest ARGV[3] with seq > ARGV[2])
-- ARGV[2] bound (seq)
-- ARGV[3] limit (1..maxPerConversation)
-- ARGV[4] maxPerConversation: seqs <= lastSeq - max are not returned even while still stored
-- ARGV[5] cutoff, ms (now - ttl): entries with sentAt <= cutoff are skipped (expired, not yet trimmed)
-- Returns a flat array {seq1, entry1, seq2, entry2, ...}, oldest first.
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local lo = math.max(last - redis.call('HLEN', KEYS[2]) + 1, last - tonumber(ARGV[4]) + 1, 1)
local bound = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cutoff = tonumber(ARGV[5])
local found = {}

-- HMGET seqs a..b (a <= b) and keep the unexpired ones, walking up (step 1) or down (step -1).
local function scan(a, b, step)
  local fields = {}
  for s = a, b do fields[#fields + 1] = s end
  local vals = redis.call('HMGET', KEYS[2], unpack(fields))
  local i, stop = 1, #vals
  if step < 0 then i, stop = #vals, 1 end
  for k = i, stop, step do
    local v = vals[k]
    if v and #found < limit and tonumber(string.match(v, '^%[(%d+),')) > cutoff then
      found[#found + 1] = {a + k - 1, v}
    end
  end
end

-- At most 1000 fields per HMGET (Lua's unpack has a stack limit); expired entries are rare, so
-- the first round usually fetches exactly `limit`.
if ARGV[1] == 'after' then
  local s = math.max(bound + 1, lo)
  while s <= last and #found < limit do
    local e = math.min(last, s + math.min(limit - #found, 1000) - 1)
    scan(s, e, 1)
    s = e + 1
  end
else
  local e = math.min(bound - 1, last)
  while e >= lo and #found < limit do
    local s = math.max(lo, e - math.min(limit - #found, 1000) + 1)
    scan(s, e, -1)
    e = s - 1
  end
end

table.sort(found, function(x, y) return x[1] < y[1] end)
local out = {}
for _, f in ipairs(found) do
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
end
return out
