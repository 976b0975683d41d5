-- history-append.lua: append one message to a conversation's history; idempotent by fp, trimmed.
-- Runs after history-append-core.lua (scripts.ts joins them), whose `append` documents the steps.
-- KEYS[1] meta, KEYS[2] msgs, KEYS[3] fps of the conversation
-- KEYS[4..] optional: users' conversation indexes (single Redis and Sentinel only)
-- ARGV[1] fp token, ARGV[2] sender, ARGV[3] entry, ARGV[4] maxPerConversation, ARGV[5] ttl ms,
-- ARGV[6] cutoff ms, ARGV[7] with KEYS[4..]: the conversation id
-- Returns {seq, duplicate (1/0), sentAt}.
local idx = {}
for i = 4, #KEYS do idx[#idx + 1] = KEYS[i] end
return append(KEYS[1], KEYS[2], KEYS[3], idx, ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7])
