-- history-append-batch.lua: append several messages, each to its conversation's history and both of its
-- users' indexes, in one call (single Redis and Sentinel, where one script may touch every key; never on
-- Redis Cluster). Runs after history-append-core.lua (scripts.ts joins them). The key count is given
-- per call.
-- KEYS[1] .. KEYS[5] for the first message, KEYS[5i-4] .. KEYS[5i] for message i: meta, msgs, fps, index
--         of user 1, index of user 2 (the same key twice for a conversation with one indexed user)
-- ARGV[1] maxPerConversation, ARGV[2] ttl ms, ARGV[3] cutoff ms
-- ARGV[4i .. 4i+3] for message i: fp token, sender, entry, conversation id
-- Returns {seq_1, duplicate_1, sentAt_1, seq_2, ...}: what history-append.lua returns, per message, in order.
-- Messages are appended in order, so two of one conversation get consecutive seqs, and a fp given twice
-- is written once (the second is a duplicate).
local max, ttl, cutoff = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local out = {}
for i = 1, #KEYS / 5 do
  local k, a = 5 * (i - 1), 4 * i
  local r = append(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], {KEYS[k + 4], KEYS[k + 5]}, ARGV[a], ARGV[a + 1], ARGV[a + 2], max, ttl, cutoff, ARGV[a + 3])
  out[3 * i - 2], out[3 * i - 1], out[3 * i] = r[1], r[2], r[3]
end
return out
